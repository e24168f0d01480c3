//! Import files read into rows: the establishment CSV and XLSX layouts, and
//! what an import reports back. Pure: bytes in, rows or a 422 out.

use std::collections::HashMap;

use serde::Serialize;

use crate::domain::establishment::EstablishmentInput;
use crate::domain::text::NUL_MESSAGE;
use crate::error::{ApiError, FieldError};

/// One row's problem in an import.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct RowError {
    /// Row number as a spreadsheet shows it (the header is row 1).
    pub row: usize,
    /// The column at fault (null when the row as a whole is unreadable).
    pub field: Option<String>,
    /// What is wrong.
    pub message: String,
}

/// What an import did.
#[derive(Debug, Clone, Serialize, Default)]
pub struct ImportSummary {
    /// Rows that made a new record.
    pub created: usize,
    /// Rows that changed an existing record.
    pub updated: usize,
    /// Rows identical to what was stored.
    pub unchanged: usize,
    /// Rows rejected, with the reason.
    pub errors: Vec<RowError>,
}

/// The columns an establishment import may carry (the create fields).
pub const IMPORT_COLUMNS: [&str; 9] = [
    "licence_no",
    "name",
    "business_type",
    "org_unit_code",
    "address",
    "owner_name",
    "phone",
    "latitude",
    "longitude",
];

/// The cell under which an unreadable row carries its error (no header can
/// name it: a file holding NUL is refused).
pub const UNREADABLE: &str = "\u{0}error";

/// One import row: its spreadsheet row number and its cells by column name.
pub type ImportRow = (usize, HashMap<String, String>);

/// Turns a row's cells into an input, or the problems of its number cells.
pub fn row_input(
    row: usize,
    cells: &HashMap<String, String>,
) -> Result<EstablishmentInput, Vec<RowError>> {
    let get = |k: &str| {
        cells
            .get(k)
            .map(|s| s.trim().to_string())
            .unwrap_or_default()
    };
    let opt = |k: &str| Some(get(k)).filter(|s| !s.is_empty());
    let mut errs = Vec::new();
    let mut num = |k: &str| -> Option<f64> {
        let v = get(k);
        if v.is_empty() {
            return None;
        }
        match v.replace(',', ".").parse::<f64>() {
            Ok(x) => Some(x),
            Err(_) => {
                errs.push(RowError {
                    row,
                    field: Some(k.into()),
                    message: "must be a number".into(),
                });
                None
            }
        }
    };
    let input = EstablishmentInput {
        licence_no: get("licence_no"),
        name: get("name"),
        business_type: get("business_type"),
        org_unit_code: get("org_unit_code"),
        address: get("address"),
        owner_name: opt("owner_name"),
        phone: opt("phone"),
        latitude: num("latitude"),
        longitude: num("longitude"),
    };
    if errs.is_empty() {
        Ok(input)
    } else {
        Err(errs)
    }
}

/// Reads an establishment CSV into rows; a header naming an unknown column,
/// or lacking a required one, is a 422 naming it.
pub fn csv_rows(bytes: &[u8]) -> Result<Vec<ImportRow>, ApiError> {
    if bytes.contains(&0) {
        return Err(ApiError::field("body", NUL_MESSAGE));
    }
    let mut rdr = csv::ReaderBuilder::new().flexible(true).from_reader(bytes);
    let headers: Vec<String> = rdr
        .headers()
        .map_err(|e| ApiError::field("body", format!("cannot read the CSV header: {e}")))?
        .iter()
        .map(|h| h.trim().trim_start_matches('\u{feff}').to_string())
        .collect();
    check_header(&headers)?;
    let mut rows = Vec::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 2;
        let mut cells = HashMap::new();
        match rec {
            Ok(rec) => {
                for (h, v) in headers.iter().zip(rec.iter()) {
                    cells.insert(h.clone(), v.to_string());
                }
            }
            Err(e) => {
                cells.insert(UNREADABLE.into(), format!("unreadable row: {e}"));
            }
        }
        rows.push((row, cells));
    }
    Ok(rows)
}

/// Media type of an XLSX workbook.
pub const XLSX: &str = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

/// Reads the first sheet of an XLSX workbook into rows (first row = header),
/// with the same header rules as CSV.
pub fn xlsx_rows(bytes: &[u8]) -> Result<Vec<ImportRow>, ApiError> {
    use calamine::{Data, Reader, Xlsx};
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes))
        .map_err(|e| ApiError::field("body", format!("not a readable XLSX workbook: {e}")))?;
    let range = wb
        .worksheet_range_at(0)
        .ok_or_else(|| ApiError::field("body", "the workbook has no sheet"))?
        .map_err(|e| ApiError::field("body", format!("cannot read the first sheet: {e}")))?;
    let mut rows = range.rows();
    let headers: Vec<String> = rows
        .next()
        .ok_or_else(|| ApiError::field("body", "the sheet is empty"))?
        .iter()
        .map(|c| c.to_string().trim().to_string())
        .collect();
    let width = headers
        .iter()
        .rposition(|h| !h.is_empty())
        .map_or(0, |i| i + 1);
    let headers = headers[..width].to_vec();
    check_header(&headers)?;
    let mut out = Vec::new();
    for (i, row) in rows.enumerate() {
        if row.iter().all(|c| matches!(c, Data::Empty)) {
            continue;
        }
        let cells = headers
            .iter()
            .zip(row.iter())
            .map(|(h, c)| {
                (
                    h.clone(),
                    if matches!(c, Data::Empty) {
                        String::new()
                    } else {
                        c.to_string()
                    },
                )
            })
            .collect();
        out.push((i + 2, cells));
    }
    Ok(out)
}

/// Checks an import header against [`IMPORT_COLUMNS`].
pub fn check_header(headers: &[String]) -> Result<(), ApiError> {
    // A hostile header (a million columns) gets one error, not a million.
    if headers.len() > 4 * IMPORT_COLUMNS.len() {
        return Err(ApiError::field(
            "header",
            format!(
                "{} columns; expected at most {} ({})",
                headers.len(),
                IMPORT_COLUMNS.len(),
                IMPORT_COLUMNS.join(",")
            ),
        ));
    }
    let mut errs = Vec::new();
    for h in headers {
        if !IMPORT_COLUMNS.contains(&h.as_str()) {
            errs.push(FieldError::new(
                h.clone(),
                format!("unknown column; expected {}", IMPORT_COLUMNS.join(",")),
            ));
        }
    }
    for required in &IMPORT_COLUMNS[..5] {
        if !headers.iter().any(|h| h == required) {
            errs.push(FieldError::new(
                *required,
                "required column missing from the header",
            ));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(ApiError::Validation(errs))
    }
}
