//! The report as CSV, XLSX or PDF: pure formatting of a built [`Report`],
//! done after the database connection is returned. The three carry the same
//! tables ([`tables`]), in Vietnamese, with the summary first.

use chrono::NaiveDate;

use super::{Group, Report};
use crate::domain::labels::{date_vi, int_vi, percent_vi};
use crate::domain::text::csv_text_cell;
use crate::error::ApiError;

/// One typed cell of a table.
pub(super) enum Cell {
    Text(String),
    Int(i64),
    /// A percentage (two decimals).
    Pct(f64),
    /// An amount in VND, if any.
    Money(Option<i64>),
    Date(NaiveDate),
}

/// A table: its sheet (or section) name, its heading, headers, relative
/// column widths and rows.
pub(super) struct Table {
    pub name: &'static str,
    pub heading: String,
    pub headers: Vec<&'static str>,
    pub widths: Vec<f32>,
    pub rows: Vec<Vec<Cell>>,
}

const PERIOD: &str = "Trong kỳ báo cáo";
const YTD: &str = "Lũy kế từ đầu năm";

fn group_table(
    name: &'static str,
    heading: &str,
    key_header: &'static str,
    gs: &[Group],
    key_is_code: bool,
) -> Table {
    Table {
        name,
        heading: heading.into(),
        headers: vec![
            key_header,
            "Tên",
            "Số cơ sở thuộc diện kiểm tra",
            "Chỉ tiêu phải kiểm tra",
            "Đã phân công",
            "Đã kiểm tra trong kỳ báo cáo",
            "Đã kiểm tra lũy kế từ đầu năm",
            "Tỷ lệ so với chỉ tiêu (%)",
            "Số vi phạm trong kỳ báo cáo",
            "Không chấp hành kiểm tra trong kỳ báo cáo",
            "Đúng tiến độ",
        ],
        widths: vec![1.0, 3.2, 1.2, 1.2, 1.1, 1.2, 1.2, 1.1, 1.1, 1.3, 0.9],
        rows: gs
            .iter()
            .enumerate()
            .map(|(i, g)| {
                vec![
                    if key_is_code {
                        Cell::Text(g.key.clone())
                    } else {
                        Cell::Int(i as i64 + 1)
                    },
                    Cell::Text(g.name.clone()),
                    Cell::Int(g.eligible),
                    Cell::Int(g.quota),
                    Cell::Int(g.assigned),
                    Cell::Int(g.inspected_in_period),
                    Cell::Int(g.inspected),
                    Cell::Pct(g.percent_of_quota),
                    Cell::Int(g.violations),
                    Cell::Int(g.refused_entry),
                    Cell::Text(if g.on_track { "Có" } else { "Không" }.into()),
                ]
            })
            .collect(),
    }
}

/// The summary's tables: the establishments, the levels against their
/// quotas, the visits by outcome, the sanctions.
pub(super) fn summary_tables(r: &Report) -> Vec<Table> {
    let s = &r.summary;
    let n = |k: &str| s[k].as_i64().unwrap_or(0);
    vec![
        Table {
            name: "Tổng hợp - Cơ sở",
            heading: "I. Cơ sở kinh doanh dịch vụ nhạy cảm".into(),
            headers: vec!["Nội dung", "Số lượng"],
            widths: vec![5.0, 1.5],
            rows: vec![
                vec![
                    Cell::Text("Số cơ sở đã đăng ký trên địa bàn".into()),
                    Cell::Int(n("registered")),
                ],
                vec![
                    Cell::Text("Số cơ sở đang hoạt động, thuộc diện kiểm tra".into()),
                    Cell::Int(n("eligible")),
                ],
            ],
        },
        Table {
            name: "Tổng hợp - Theo cấp",
            heading: "II. Kết quả kiểm tra so với chỉ tiêu, theo cấp kiểm tra".into(),
            headers: vec![
                "Cấp kiểm tra",
                "Tỷ lệ chỉ tiêu (%)",
                "Số cơ sở phải kiểm tra",
                "Đã kiểm tra trong kỳ báo cáo",
                "Đã kiểm tra lũy kế từ đầu năm",
                "Tỷ lệ so với chỉ tiêu (%)",
            ],
            widths: vec![2.5, 1.2, 1.4, 1.4, 1.4, 1.4],
            rows: r
                .levels
                .iter()
                .map(|l| {
                    vec![
                        Cell::Text(l.label.clone()),
                        Cell::Pct(l.share_percent),
                        Cell::Int(l.quota),
                        Cell::Int(l.inspected.period),
                        Cell::Int(l.inspected.year_to_date),
                        Cell::Pct(l.percent_of_quota),
                    ]
                })
                .collect(),
        },
        Table {
            name: "Tổng hợp - Kết quả",
            heading: "III. Kết quả các lượt kiểm tra".into(),
            headers: vec!["Kết quả", "Tính là đã kiểm tra", PERIOD, YTD],
            widths: vec![4.0, 1.4, 1.4, 1.4],
            rows: r
                .outcomes
                .iter()
                .map(|o| {
                    vec![
                        Cell::Text(o.label.clone()),
                        Cell::Text(
                            if o.counts_as_inspected {
                                "Có"
                            } else {
                                "Không"
                            }
                            .into(),
                        ),
                        Cell::Int(o.visits.period),
                        Cell::Int(o.visits.year_to_date),
                    ]
                })
                .collect(),
        },
        Table {
            name: "Tổng hợp - Xử lý",
            heading: "IV. Hình thức xử lý vi phạm".into(),
            headers: vec![
                "Hình thức xử lý",
                "Số vụ trong kỳ báo cáo",
                "Tiền phạt trong kỳ báo cáo (VNĐ)",
                "Số vụ lũy kế từ đầu năm",
                "Tiền phạt lũy kế từ đầu năm (VNĐ)",
            ],
            widths: vec![3.0, 1.3, 1.8, 1.3, 1.8],
            rows: r
                .sanctions
                .iter()
                .map(|l| {
                    let fines = l.sanction == "fine" || l.sanction == "total";
                    vec![
                        Cell::Text(l.label.clone()),
                        Cell::Int(l.count.period),
                        Cell::Money(fines.then_some(l.fines_vnd.period)),
                        Cell::Int(l.count.year_to_date),
                        Cell::Money(fines.then_some(l.fines_vnd.year_to_date)),
                    ]
                })
                .collect(),
        },
    ]
}

/// The detail tables, one sheet each.
pub(super) fn tables(r: &Report) -> Vec<Table> {
    vec![
        group_table(
            "Theo địa bàn",
            "V. Kết quả theo địa bàn",
            "Mã",
            &r.coverage_by_org_unit,
            true,
        ),
        group_table(
            "Theo đội",
            "VI. Kết quả theo đội kiểm tra",
            "STT",
            &r.coverage_by_team,
            false,
        ),
        group_table(
            "Theo loại hình",
            "VII. Kết quả theo loại hình kinh doanh",
            "STT",
            &r.coverage_by_business_type,
            false,
        ),
        Table {
            name: "Vi phạm",
            heading: "VIII. Hành vi vi phạm trong kỳ báo cáo".into(),
            headers: vec![
                "Hành vi vi phạm",
                "Căn cứ pháp lý",
                "Số lượt",
                "Số cơ sở",
                "Tổng tiền phạt (VNĐ)",
            ],
            widths: vec![4.0, 2.5, 1.0, 1.0, 1.6],
            rows: r
                .violations_by_code
                .iter()
                .map(|v| {
                    vec![
                        Cell::Text(v.title.clone()),
                        Cell::Text(v.legal_basis.clone()),
                        Cell::Int(v.count),
                        Cell::Int(v.establishments),
                        Cell::Money(v.fines_vnd),
                    ]
                })
                .collect(),
        },
        Table {
            name: "Đóng cửa - từ chối",
            heading:
                "IX. Cơ sở đóng cửa, không chấp hành kiểm tra, không tìm thấy trong kỳ báo cáo"
                    .into(),
            headers: vec![
                "Số giấy phép",
                "Tên cơ sở",
                "Mã xã",
                "Kết quả",
                "Ngày kiểm tra",
                "Đội kiểm tra",
            ],
            widths: vec![1.3, 3.0, 0.9, 2.6, 1.2, 2.0],
            rows: r
                .closed_or_refused
                .iter()
                .map(|o| {
                    vec![
                        Cell::Text(o.licence_no.clone()),
                        Cell::Text(o.name.clone()),
                        Cell::Text(o.org_unit_code.clone()),
                        Cell::Text(o.outcome_label.clone()),
                        Cell::Date(o.date),
                        Cell::Text(o.team.clone()),
                    ]
                })
                .collect(),
        },
        indicator_table(r),
    ]
}

/// The indicators: one row for the whole area, then one per district (or
/// commune), of each of the plan's targets.
fn indicator_table(r: &Report) -> Table {
    let num = |kind: &str, v: f64| {
        if kind == "share_of_units" {
            Cell::Pct(v)
        } else {
            Cell::Int(v.round() as i64)
        }
    };
    let yes_no = |b: Option<bool>| {
        Cell::Text(match b {
            Some(true) => "Có".into(),
            Some(false) => "Không".into(),
            None => String::new(),
        })
    };
    let mut rows = Vec::new();
    for i in &r.indicators {
        rows.push(vec![
            Cell::Text(i.code.clone()),
            Cell::Text(i.name.clone()),
            Cell::Text("Toàn địa bàn".into()),
            num(&i.kind, i.target),
            num(&i.kind, i.value),
            Cell::Text(i.unit.clone()),
            num(&i.kind, i.expected),
            yes_no(Some(i.on_track)),
        ]);
        for u in &i.by_org_unit {
            rows.push(vec![
                Cell::Text(i.code.clone()),
                Cell::Text(i.name.clone()),
                Cell::Text(u.name.clone()),
                num(&i.kind, i.target),
                num(&i.kind, u.value),
                Cell::Text(i.unit.clone()),
                u.expected
                    .map_or(Cell::Text(String::new()), |e| num(&i.kind, e)),
                yes_no(u.on_track),
            ]);
        }
    }
    Table {
        name: "Chỉ tiêu",
        heading: "X. Kết quả thực hiện các chỉ tiêu của kế hoạch, lũy kế đến hết kỳ báo cáo".into(),
        headers: vec![
            "Mã chỉ tiêu",
            "Chỉ tiêu",
            "Địa bàn",
            "Chỉ tiêu đặt ra",
            "Kết quả",
            "Đơn vị tính",
            "Mức cần đạt đến ngày báo cáo",
            "Đúng tiến độ",
        ],
        widths: vec![1.3, 4.0, 1.8, 1.0, 1.0, 0.9, 1.2, 0.9],
        rows,
    }
}

/// The closing lines: the definition of "inspected", the audit head, the
/// time of making.
fn closing_lines(r: &Report) -> Vec<String> {
    vec![
        format!("Ghi chú: {}", r.inspected_definition),
        format!(
            "Mã kiểm chứng nhật ký (audit): {}",
            r.audit_head.as_deref().unwrap_or("(chưa có)")
        ),
        format!("Thời điểm lập báo cáo: {}", r.generated_at),
    ]
}

/// The CSV: UTF-8 with a byte-order mark (so spreadsheet programs read the
/// diacritics), the tables one after another; the first column of every
/// row names its table (the section marker), the title block first.
pub(super) fn to_csv(r: &Report) -> Result<Vec<u8>, ApiError> {
    let mut out = "\u{feff}".as_bytes().to_vec();
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_writer(Vec::new());
    let err = |e: csv::Error| ApiError::Internal(e.to_string());
    let t = &r.title;
    w.write_record(["Bảng", "Nội dung"]).map_err(err)?;
    for line in t
        .issuer
        .iter()
        .chain([
            &t.number_line,
            &t.place_date,
            &t.heading,
            &t.subject,
            &t.period_dates,
        ])
        .cloned()
        .chain(closing_lines(r))
    {
        w.write_record(["Tiêu đề", &csv_text_cell(&line)])
            .map_err(err)?;
    }
    for table in summary_tables(r).into_iter().chain(tables(r)) {
        let mut h = vec!["Bảng"];
        h.extend_from_slice(&table.headers);
        w.write_record(&h).map_err(err)?;
        for row in &table.rows {
            let mut rec = vec![csv_text_cell(table.name).into_owned()];
            rec.extend(row.iter().map(|c| match c {
                Cell::Text(s) => csv_text_cell(s).into_owned(),
                Cell::Int(i) => i.to_string(),
                Cell::Pct(f) => format!("{f:.2}"),
                Cell::Money(m) => m.map(|m| m.to_string()).unwrap_or_default(),
                Cell::Date(d) => d.to_string(),
            }));
            w.write_record(&rec).map_err(err)?;
        }
    }
    out.extend(
        w.into_inner()
            .map_err(|e| ApiError::Internal(e.to_string()))?,
    );
    Ok(out)
}

/// The XLSX: the summary sheet with the title block first, then one sheet
/// per table; every sheet prints landscape on A4, one page wide, its
/// header row repeated and frozen, page numbers in the footer; numbers are
/// numbers and dates are dates.
pub(super) fn to_xlsx(r: &Report) -> Result<Vec<u8>, ApiError> {
    use rust_xlsxwriter::{ExcelDateTime, Format, FormatAlign, FormatBorder, Workbook, Worksheet};
    let err = |e: rust_xlsxwriter::XlsxError| ApiError::Internal(e.to_string());
    let mut wb = Workbook::new();
    let border = |f: Format| f.set_border(FormatBorder::Thin);
    let head = border(
        Format::new()
            .set_bold()
            .set_text_wrap()
            .set_align(FormatAlign::Center)
            .set_align(FormatAlign::VerticalCenter),
    );
    let text = border(Format::new().set_text_wrap());
    let int = border(Format::new().set_num_format("#,##0"));
    let pct = border(Format::new().set_num_format("0.00"));
    let date = border(Format::new().set_num_format("dd/mm/yyyy"));
    let bold_center = Format::new().set_bold().set_align(FormatAlign::Center);
    let center = Format::new().set_align(FormatAlign::Center);
    let italic_center = Format::new().set_italic().set_align(FormatAlign::Center);
    let title_fmt = Format::new()
        .set_bold()
        .set_font_size(14)
        .set_align(FormatAlign::Center);
    let wrap = Format::new().set_text_wrap().set_align(FormatAlign::Top);
    let footer = format!(
        "&L{} {}&RTrang &P/&N",
        r.title.heading,
        crate::domain::labels::period_vi(&r.period, r.year)
    );
    let setup = |ws: &mut Worksheet| -> Result<(), rust_xlsxwriter::XlsxError> {
        ws.set_landscape();
        ws.set_paper_size(9);
        ws.set_print_fit_to_pages(1, 0);
        ws.set_footer(&footer);
        ws.set_margins(0.5, 0.5, 0.6, 0.6, 0.3, 0.3);
        Ok(())
    };
    let write_cell = |ws: &mut Worksheet,
                      row: u32,
                      col: u16,
                      c: &Cell|
     -> Result<(), rust_xlsxwriter::XlsxError> {
        match c {
            Cell::Text(s) => ws.write_string_with_format(row, col, s, &text).map(|_| ()),
            Cell::Int(n) => ws
                .write_number_with_format(row, col, *n as f64, &int)
                .map(|_| ()),
            Cell::Pct(f) => ws.write_number_with_format(row, col, *f, &pct).map(|_| ()),
            Cell::Money(Some(m)) => ws
                .write_number_with_format(row, col, *m as f64, &int)
                .map(|_| ()),
            Cell::Money(None) => ws.write_blank(row, col, &text).map(|_| ()),
            Cell::Date(d) => {
                use chrono::Datelike;
                let dt = ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)?;
                ws.write_datetime_with_format(row, col, &dt, &date)
                    .map(|_| ())
            }
        }
    };
    let xdate = |d: NaiveDate| {
        use chrono::Datelike;
        ExcelDateTime::from_ymd(d.year() as u16, d.month() as u8, d.day() as u8)
    };

    // The summary sheet.
    {
        let ws = wb.add_worksheet();
        ws.set_name("Tổng hợp").map_err(err)?;
        setup(ws).map_err(err)?;
        ws.set_column_width(0, 46).map_err(err)?;
        for c in 1..6 {
            ws.set_column_width(c, 19).map_err(err)?;
        }
        let t = &r.title;
        ws.merge_range(0, 0, 0, 1, &t.issuer[0], &center)
            .map_err(err)?;
        ws.merge_range(1, 0, 1, 1, &t.issuer[1], &bold_center)
            .map_err(err)?;
        ws.merge_range(2, 0, 2, 1, &t.number_line, &center)
            .map_err(err)?;
        ws.merge_range(
            0,
            2,
            0,
            5,
            "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
            &bold_center,
        )
        .map_err(err)?;
        ws.merge_range(1, 2, 1, 5, "Độc lập - Tự do - Hạnh phúc", &bold_center)
            .map_err(err)?;
        ws.merge_range(2, 2, 2, 5, &t.place_date, &italic_center)
            .map_err(err)?;
        ws.merge_range(4, 0, 4, 5, &t.heading, &title_fmt)
            .map_err(err)?;
        ws.merge_range(5, 0, 5, 5, &t.subject, &bold_center)
            .map_err(err)?;
        ws.merge_range(6, 0, 6, 5, &t.period_dates, &italic_center)
            .map_err(err)?;
        let plain_date = Format::new().set_num_format("dd/mm/yyyy");
        ws.write_string(8, 0, "Từ ngày").map_err(err)?;
        ws.write_datetime_with_format(8, 1, &xdate(r.from).map_err(err)?, &plain_date)
            .map_err(err)?;
        ws.write_string(9, 0, "Đến ngày").map_err(err)?;
        ws.write_datetime_with_format(9, 1, &xdate(r.to).map_err(err)?, &plain_date)
            .map_err(err)?;
        let mut row = 11u32;
        for table in summary_tables(r) {
            ws.write_string_with_format(row, 0, &table.heading, &Format::new().set_bold())
                .map_err(err)?;
            row += 1;
            for (c, h) in table.headers.iter().enumerate() {
                ws.write_string_with_format(row, c as u16, *h, &head)
                    .map_err(err)?;
            }
            ws.set_row_height(row, 32).map_err(err)?;
            row += 1;
            for cells in &table.rows {
                for (c, cell) in cells.iter().enumerate() {
                    write_cell(ws, row, c as u16, cell).map_err(err)?;
                }
                row += 1;
            }
            row += 1;
        }
        for line in closing_lines(r) {
            ws.merge_range(row, 0, row, 5, &line, &wrap).map_err(err)?;
            ws.set_row_height(row, if line.len() > 150 { 48 } else { 16 })
                .map_err(err)?;
            row += 1;
        }
    }
    // One sheet per table: the header row at the top, frozen and repeated.
    for table in tables(r) {
        let ws = wb.add_worksheet();
        ws.set_name(table.name).map_err(err)?;
        setup(ws).map_err(err)?;
        ws.set_freeze_panes(1, 0).map_err(err)?;
        ws.set_repeat_rows(0, 0).map_err(err)?;
        ws.set_header(format!("&C{}", table.heading.replace('&', "&&")));
        ws.set_row_height(0, 45).map_err(err)?;
        for (c, (h, w)) in table.headers.iter().zip(&table.widths).enumerate() {
            ws.write_string_with_format(0, c as u16, *h, &head)
                .map_err(err)?;
            ws.set_column_width(c as u16, f64::from(*w) * 12.0)
                .map_err(err)?;
        }
        for (i, cells) in table.rows.iter().enumerate() {
            for (c, cell) in cells.iter().enumerate() {
                write_cell(ws, i as u32 + 1, c as u16, cell).map_err(err)?;
            }
        }
    }
    wb.save_to_buffer().map_err(err)
}

/// The PDF: A4 landscape, the title block, the summary, then every table;
/// DejaVu Sans for the Vietnamese.
pub(super) fn to_pdf(r: &Report) -> Result<Vec<u8>, ApiError> {
    use crate::domain::pdf::{Align, Doc};
    let t = &r.title;
    let mut d = Doc::a4(true, &format!("{} — {}", t.heading, t.subject));
    let (left, cw) = (d.left(), d.content_width());
    let half = cw * 0.42;
    let top = |d: &mut Doc, l: &str, rr: &str, bl: bool, br: bool, size: f32| {
        d.line_in(left, half, size, bl, Align::Center, l);
        d.line_in(left + half, cw - half, size, br, Align::Center, rr);
        d.space(size * 1.4);
    };
    top(
        &mut d,
        &t.issuer[0],
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        false,
        true,
        10.5,
    );
    top(
        &mut d,
        &t.issuer[1],
        "Độc lập - Tự do - Hạnh phúc",
        true,
        true,
        10.5,
    );
    d.space(4.0);
    top(&mut d, &t.number_line, &t.place_date, false, false, 10.0);
    d.space(10.0);
    d.paragraph(&t.heading, 15.0, true, Align::Center);
    d.paragraph(&t.subject, 12.0, true, Align::Center);
    d.paragraph(&t.period_dates, 10.0, false, Align::Center);
    d.space(8.0);
    let cell_text = |c: &Cell| -> (String, Align) {
        match c {
            Cell::Text(s) => (s.clone(), Align::Left),
            Cell::Int(n) => (int_vi(*n), Align::Right),
            Cell::Pct(f) => (percent_vi(*f), Align::Right),
            Cell::Money(m) => (m.map(int_vi).unwrap_or_default(), Align::Right),
            Cell::Date(dt) => (date_vi(*dt), Align::Center),
        }
    };
    for table in summary_tables(r).into_iter().chain(tables(r)) {
        d.ensure(60.0);
        d.space(4.0);
        d.paragraph(&table.heading, 11.0, true, Align::Left);
        d.space(2.0);
        let rows: Vec<Vec<(String, Align)>> = table
            .rows
            .iter()
            .map(|row| row.iter().map(cell_text).collect())
            .collect();
        d.table(&table.headers, &table.widths, &rows, 8.5);
        d.space(6.0);
    }
    for line in closing_lines(r) {
        d.paragraph(&line, 9.0, false, Align::Left);
    }
    d.space(16.0);
    d.ensure(90.0);
    d.line_in(
        left + half,
        cw - half,
        11.0,
        true,
        Align::Center,
        "GIÁM ĐỐC",
    );
    d.space(16.0);
    d.line_in(
        left + half,
        cw - half,
        9.0,
        false,
        Align::Center,
        "(Ký, ghi rõ họ tên và đóng dấu)",
    );
    Ok(d.finish())
}
