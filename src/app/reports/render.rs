//! The report as CSV or XLSX: pure formatting of a built [`Report`], done
//! after the database connection is returned.

use super::{Group, Report};
use crate::domain::status::Outcome;
use crate::domain::text::csv_text_cell;
use crate::error::ApiError;

/// Column headers of the coverage tables (Vietnamese, then the JSON key).
const COVERAGE_HEADERS: [&str; 9] = [
    "Mã",
    "Tên",
    "Số cơ sở",
    "Chỉ tiêu",
    "Đã phân công",
    "Đã kiểm tra",
    "Tỷ lệ kiểm tra (%)",
    "Số vi phạm",
    "Đúng tiến độ",
];
const VIOLATION_HEADERS: [&str; 5] = [
    "Mã vi phạm",
    "Hành vi vi phạm",
    "Số lượt",
    "Số cơ sở",
    "Tổng tiền phạt (VNĐ)",
];
const OUTCOME_HEADERS: [&str; 6] = [
    "Số giấy phép",
    "Tên cơ sở",
    "Mã xã",
    "Kết quả",
    "Ngày kiểm tra",
    "Đội kiểm tra",
];

/// One typed cell of a table.
enum Cell {
    Text(String),
    Int(i64),
    Num(f64),
    Money(Option<i64>),
}

/// A table: sheet name, headers, rows.
type Table = (&'static str, &'static [&'static str], Vec<Vec<Cell>>);

fn tables(r: &Report) -> Vec<Table> {
    let cov = |gs: &[Group]| -> Vec<Vec<Cell>> {
        gs.iter()
            .map(|g| {
                vec![
                    Cell::Text(g.key.clone()),
                    Cell::Text(g.name.clone()),
                    Cell::Int(g.eligible),
                    Cell::Int(g.quota),
                    Cell::Int(g.assigned),
                    Cell::Int(g.inspected),
                    Cell::Num(g.inspected_percent),
                    Cell::Int(g.violations),
                    Cell::Text(if g.on_track { "Có" } else { "Không" }.into()),
                ]
            })
            .collect()
    };
    let outcome_vi = |o: &str| match Outcome::parse(o) {
        Some(Outcome::Closed) => "Đã đóng cửa",
        Some(Outcome::RefusedEntry) => "Không cho kiểm tra",
        Some(Outcome::NotFound) => "Không tìm thấy",
        _ => "",
    };
    vec![
        (
            "Theo địa bàn",
            &COVERAGE_HEADERS[..],
            cov(&r.coverage_by_org_unit),
        ),
        ("Theo đội", &COVERAGE_HEADERS[..], cov(&r.coverage_by_team)),
        (
            "Theo loại hình",
            &COVERAGE_HEADERS[..],
            cov(&r.coverage_by_business_type),
        ),
        (
            "Vi phạm",
            &VIOLATION_HEADERS[..],
            r.violations_by_code
                .iter()
                .map(|v| {
                    vec![
                        Cell::Text(v.code.clone()),
                        Cell::Text(v.title.clone()),
                        Cell::Int(v.count),
                        Cell::Int(v.establishments),
                        Cell::Money(v.fines_vnd),
                    ]
                })
                .collect(),
        ),
        (
            "Đóng cửa - từ chối",
            &OUTCOME_HEADERS[..],
            r.closed_or_refused
                .iter()
                .map(|o| {
                    vec![
                        Cell::Text(o.licence_no.clone()),
                        Cell::Text(o.name.clone()),
                        Cell::Text(o.org_unit_code.clone()),
                        Cell::Text(outcome_vi(&o.outcome).into()),
                        Cell::Text(crate::domain::calendar::date_of(o.finished_at).to_string()),
                        Cell::Text(o.team.clone()),
                    ]
                })
                .collect(),
        ),
    ]
}

pub(super) fn to_csv(r: &Report) -> Result<Vec<u8>, ApiError> {
    // One CSV, the tables one after another; the first column names the table.
    // Text cells are made safe for a spreadsheet (names are the users'), numbers stay numbers.
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let err = |e: csv::Error| ApiError::Internal(e.to_string());
    for (name, headers, rows) in tables(r) {
        let mut h = vec!["Bảng"];
        h.extend_from_slice(headers);
        w.write_record(&h).map_err(err)?;
        for row in rows {
            let mut rec = vec![csv_text_cell(name).into_owned()];
            rec.extend(row.iter().map(|c| match c {
                Cell::Text(s) => csv_text_cell(s).into_owned(),
                Cell::Int(i) => i.to_string(),
                Cell::Num(f) => format!("{f:.2}"),
                Cell::Money(m) => m.map(|m| m.to_string()).unwrap_or_default(),
            }));
            w.write_record(&rec).map_err(err)?;
        }
    }
    w.into_inner()
        .map_err(|e| ApiError::Internal(e.to_string()))
}

pub(super) fn to_xlsx(r: &Report) -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{Format, Workbook};
    let err = |e: rust_xlsxwriter::XlsxError| ApiError::Internal(e.to_string());
    let mut wb = Workbook::new();
    let bold = Format::new().set_bold();
    let money = Format::new().set_num_format("#,##0");
    let pct = Format::new().set_num_format("0.00");
    for (name, headers, rows) in tables(r) {
        let ws = wb.add_worksheet();
        ws.set_name(name).map_err(err)?;
        for (c, h) in headers.iter().enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &bold)
                .map_err(err)?;
            ws.set_column_width(c as u16, if c == 1 { 40 } else { 16 })
                .map_err(err)?;
        }
        for (i, row) in rows.iter().enumerate() {
            let r = i as u32 + 1;
            for (c, cell) in row.iter().enumerate() {
                let c = c as u16;
                match cell {
                    Cell::Text(s) => ws.write_string(r, c, s).map(|_| ()),
                    Cell::Int(n) => ws.write_number(r, c, *n as f64).map(|_| ()),
                    Cell::Num(f) => ws.write_number_with_format(r, c, *f, &pct).map(|_| ()),
                    Cell::Money(Some(m)) => ws
                        .write_number_with_format(r, c, *m as f64, &money)
                        .map(|_| ()),
                    Cell::Money(None) => Ok(()),
                }
                .map_err(err)?;
            }
        }
    }
    wb.save_to_buffer().map_err(err)
}
