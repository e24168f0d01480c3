//! A plan's indicators (its targets beyond inspections) and their values:
//! pure rules, no I/O. The rules are written out in `docs/indicators.md`.

use chrono::{Datelike, NaiveDate};
use serde::Serialize;

/// How an indicator's value is computed from its activities.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// Percent of the area's units (at the indicator's level) with at least
    /// one activity; the target is a percent (0–100).
    ShareOfUnits,
    /// Sum of the activities' quantities; the target is that sum for the year.
    Count,
    /// Months in which the activities' quantities reach the target; the
    /// target is the quantity each month.
    PerMonth,
}

impl Kind {
    /// The API's name.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::ShareOfUnits => "share_of_units",
            Kind::Count => "count",
            Kind::PerMonth => "per_month",
        }
    }

    /// Parses the API's name.
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "share_of_units" => Kind::ShareOfUnits,
            "count" => Kind::Count,
            "per_month" => Kind::PerMonth,
            _ => return None,
        })
    }

    /// Checks a target for this kind; the message names what is wrong.
    pub fn check_target(self, target: f64) -> Result<(), &'static str> {
        if !target.is_finite() || target < 0.0 {
            return Err("must be a number of at least 0");
        }
        match self {
            Kind::ShareOfUnits if target > 100.0 => {
                Err("a share_of_units target is a percent: between 0 and 100")
            }
            Kind::Count | Kind::PerMonth if target.fract() != 0.0 => Err("must be a whole number"),
            Kind::Count | Kind::PerMonth if target > 1_000_000_000.0 => {
                Err("must be at most 1000000000")
            }
            _ => Ok(()),
        }
    }

    /// The unit a value of this kind is written in (Vietnamese).
    pub fn unit_vi(self) -> &'static str {
        match self {
            Kind::ShareOfUnits => "%",
            Kind::Count => "lượt",
            Kind::PerMonth => "tháng đạt",
        }
    }
}

/// The Vietnamese name of a unit level.
pub fn level_vi(level: &str) -> &'static str {
    match level {
        "province" => "tỉnh",
        "district" => "huyện",
        "commune" => "xã",
        _ => "",
    }
}

/// One activity as the values see it: its unit, day and quantity (only
/// activities that are not withdrawn are handed in).
#[derive(Debug, Clone)]
pub struct Done<'a> {
    /// The unit that did it.
    pub unit: &'a str,
    /// The day.
    pub date: NaiveDate,
    /// How many.
    pub quantity: i64,
}

/// An indicator's value over one area on one day.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Value {
    /// share_of_units: percent of units reached (two decimals); count: the
    /// sum; per_month: months that reached the target.
    pub value: f64,
    /// What the value must be on the day to be on track (see [`value_of`]).
    pub expected: f64,
    /// `value >= expected`.
    pub on_track: bool,
    /// share_of_units: units reached and units in the area.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units_reached: Option<i64>,
    /// share_of_units: units of the level in the area.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub units_total: Option<i64>,
}

/// The part of `year` elapsed on `day`: 0 before it, 1 from its last day on
/// (a report for the year, made on 31 December, asks for the whole target).
pub fn elapsed(year: i32, day: NaiveDate) -> f64 {
    let start = NaiveDate::from_ymd_opt(year, 1, 1);
    let last = NaiveDate::from_ymd_opt(year, 12, 31);
    match (start, last) {
        (Some(_), Some(l)) if day >= l => 1.0,
        (Some(s), Some(l)) if day >= s => {
            ((day - s).num_days() + 1) as f64 / ((l - s).num_days() + 1) as f64
        }
        _ => 0.0,
    }
}

/// Months of `year` complete on `day` (the month's last day reached).
pub fn complete_months(year: i32, day: NaiveDate) -> u32 {
    if day.year() < year {
        return 0;
    }
    if day.year() > year {
        return 12;
    }
    let next = day.succ_opt().unwrap_or(day);
    if next.month() != day.month() {
        day.month()
    } else {
        day.month() - 1
    }
}

/// The value of an indicator of `kind` and `target` in `year` on `day`,
/// over an area whose units at the indicator's level are `units`, from the
/// activities `done` in that area (withdrawn ones left out by the caller).
/// Activities after `day` or outside `year` do not count.
///
/// - share_of_units: value = 100 × units with ≥ 1 activity / units; the
///   goal in units is ⌈target % × units⌉, and on track means at least
///   ⌊goal × elapsed part of the year⌋ units reached (`expected` is that,
///   as a percent of the units).
/// - count: value = Σ quantity; on track means at least
///   ⌊target × elapsed part of the year⌋.
/// - per_month: value = months whose Σ quantity reaches the target (a
///   target of 0 asks for one activity); on track means every month
///   complete on `day` reached it (`expected` = those months).
pub fn value_of(
    kind: Kind,
    target: f64,
    year: i32,
    day: NaiveDate,
    units: &[&str],
    done: &[Done<'_>],
) -> Value {
    let counted: Vec<&Done<'_>> = done
        .iter()
        .filter(|d| d.date.year() == year && d.date <= day)
        .collect();
    let part = elapsed(year, day);
    match kind {
        Kind::ShareOfUnits => {
            let total = units.len() as i64;
            let reached = units
                .iter()
                .filter(|u| counted.iter().any(|d| d.unit == **u))
                .count() as i64;
            let goal = (target / 100.0 * total as f64 - 1e-9).ceil().max(0.0);
            let need = (goal * part + 1e-9).floor();
            let pct = |n: f64| {
                if total == 0 {
                    0.0
                } else {
                    (n * 10_000.0 / total as f64).round() / 100.0
                }
            };
            Value {
                value: pct(reached as f64),
                expected: pct(need),
                on_track: reached as f64 >= need,
                units_reached: Some(reached),
                units_total: Some(total),
            }
        }
        Kind::Count => {
            let sum: i64 = counted.iter().map(|d| d.quantity).sum();
            let need = (target * part + 1e-9).floor();
            Value {
                value: sum as f64,
                expected: need,
                on_track: sum as f64 >= need,
                units_reached: None,
                units_total: None,
            }
        }
        Kind::PerMonth => {
            let mut per_month = [0i64; 12];
            for d in &counted {
                per_month[d.date.month0() as usize] += d.quantity;
            }
            let floor = if target <= 0.0 { 1 } else { target as i64 };
            let met: Vec<bool> = per_month
                .iter()
                .enumerate()
                .map(|(m, &q)| q >= floor && counted.iter().any(|d| d.date.month0() as usize == m))
                .collect();
            let complete = complete_months(year, day) as usize;
            Value {
                value: met.iter().filter(|m| **m).count() as f64,
                expected: complete as f64,
                on_track: met[..complete].iter().all(|m| *m),
                units_reached: None,
                units_total: None,
            }
        }
    }
}

/// Largest evidence file of an activity (a scanned minute or a photo), in
/// bytes: the photos' limit.
pub const EVIDENCE_LIMIT: usize = crate::domain::minutes::PHOTO_LIMIT;

/// The kinds of evidence file accepted, by media type.
pub const EVIDENCE_TYPES: [&str; 3] = ["image/jpeg", "image/png", "application/pdf"];

/// The kind of evidence file the bytes are, from their magic number: JPEG,
/// PNG or PDF.
pub fn sniff_evidence(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(b"%PDF-") {
        Some("application/pdf")
    } else {
        crate::domain::minutes::sniff_photo(bytes)
    }
}

/// Checks an evidence file against its declared media type (one of
/// [`EVIDENCE_TYPES`]): a photo as the minutes' photos are checked (decodes,
/// nothing after its end); a PDF by its header and its `%%EOF` trailer. The
/// error is the message for the `body` field.
pub fn check_evidence(bytes: &[u8], declared: &str) -> Result<(), String> {
    if bytes.is_empty() {
        return Err("is empty: send the file".into());
    }
    let kind = sniff_evidence(bytes).ok_or("the content is neither JPEG, PNG nor PDF")?;
    if kind != declared {
        return Err(format!("the content is {kind}, not {declared}"));
    }
    if kind == "application/pdf" {
        // A PDF ends with `%%EOF` (possibly followed by a line end).
        let tail = &bytes[bytes.len().saturating_sub(1024)..];
        if !tail.windows(5).any(|w| w == b"%%EOF") {
            return Err("the PDF is truncated (no %%EOF at its end)".into());
        }
        return Ok(());
    }
    crate::domain::minutes::check_photo(bytes, kind)
}

/// The file-name extension of an evidence media type.
pub fn evidence_extension(content_type: &str) -> &'static str {
    match content_type {
        "application/pdf" => "pdf",
        "image/png" => "png",
        _ => "jpg",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(2016, m, day).unwrap()
    }

    fn done(unit: &str, date: NaiveDate, quantity: i64) -> Done<'_> {
        Done {
            unit,
            date,
            quantity,
        }
    }

    #[test]
    fn elapsed_part_of_the_year() {
        assert_eq!(elapsed(2016, d(12, 31)), 1.0);
        assert_eq!(
            elapsed(2016, NaiveDate::from_ymd_opt(2015, 12, 31).unwrap()),
            0.0
        );
        assert_eq!(
            elapsed(2016, NaiveDate::from_ymd_opt(2017, 3, 1).unwrap()),
            1.0
        );
        // 2016 is a leap year: 30 June is day 182 of 366.
        assert!((elapsed(2016, d(6, 30)) - 182.0 / 366.0).abs() < 1e-12);
    }

    #[test]
    fn complete_months_count_only_finished_ones() {
        assert_eq!(complete_months(2016, d(1, 30)), 0);
        assert_eq!(complete_months(2016, d(1, 31)), 1);
        assert_eq!(complete_months(2016, d(6, 30)), 6);
        assert_eq!(complete_months(2016, d(7, 1)), 6);
        assert_eq!(complete_months(2016, d(12, 31)), 12);
    }

    #[test]
    fn share_of_units_counts_units_with_an_activity() {
        let units = ["a", "b", "c", "d"];
        let acts = [
            done("a", d(2, 1), 1),
            done("a", d(3, 1), 5),
            done("b", d(5, 1), 0),
            // after the day: does not count
            done("c", d(8, 1), 1),
            // not one of the area's units
            done("z", d(2, 1), 1),
        ];
        let v = value_of(Kind::ShareOfUnits, 50.0, 2016, d(6, 30), &units, &acts);
        assert_eq!(v.value, 50.0);
        assert_eq!(v.units_reached, Some(2));
        assert_eq!(v.units_total, Some(4));
        // Goal 2 units; half the year gone: floor(2 × 182/366) = 0 needed.
        assert_eq!(v.expected, 0.0);
        assert!(v.on_track);
        let v = value_of(Kind::ShareOfUnits, 100.0, 2016, d(12, 31), &units, &acts);
        assert_eq!(v.value, 75.0);
        assert_eq!(v.expected, 100.0);
        assert!(!v.on_track);
    }

    #[test]
    fn share_of_no_units_is_zero_and_on_track_only_for_a_zero_goal() {
        let v = value_of(Kind::ShareOfUnits, 50.0, 2016, d(12, 31), &[], &[]);
        assert_eq!(v.value, 0.0);
        assert!(v.on_track);
    }

    #[test]
    fn count_is_prorated() {
        let acts = [done("a", d(1, 10), 1), done("b", d(9, 1), 1)];
        let v = value_of(Kind::Count, 2.0, 2016, d(6, 30), &["a"], &acts);
        assert_eq!(v.value, 1.0);
        // floor(2 × 182/366) = 0
        assert_eq!(v.expected, 0.0);
        assert!(v.on_track);
        let v = value_of(Kind::Count, 2.0, 2016, d(12, 31), &["a"], &acts);
        assert_eq!(v.value, 2.0);
        assert_eq!(v.expected, 2.0);
        assert!(v.on_track);
        let v = value_of(Kind::Count, 3.0, 2016, d(12, 31), &["a"], &acts);
        assert!(!v.on_track);
        // Another year's activities never count.
        let old = [done("a", NaiveDate::from_ymd_opt(2015, 5, 1).unwrap(), 9)];
        assert_eq!(
            value_of(Kind::Count, 1.0, 2016, d(12, 31), &[], &old).value,
            0.0
        );
    }

    #[test]
    fn per_month_needs_every_complete_month() {
        let acts = [
            done("p", d(1, 5), 1),
            done("p", d(2, 5), 1),
            done("p", d(3, 5), 1),
            done("p", d(4, 5), 1),
        ];
        let v = value_of(Kind::PerMonth, 1.0, 2016, d(4, 30), &["p"], &acts);
        assert_eq!(v.value, 4.0);
        assert_eq!(v.expected, 4.0);
        assert!(v.on_track);
        // May is complete and had nothing.
        let v = value_of(Kind::PerMonth, 1.0, 2016, d(6, 15), &["p"], &acts);
        assert_eq!(v.expected, 5.0);
        assert!(!v.on_track);
        // Twice a month: one activity of quantity 1 is not enough.
        let v = value_of(Kind::PerMonth, 2.0, 2016, d(1, 31), &["p"], &acts);
        assert_eq!(v.value, 0.0);
        assert!(!v.on_track);
    }

    #[test]
    fn targets_are_checked_by_kind() {
        assert!(Kind::ShareOfUnits.check_target(100.0).is_ok());
        assert!(Kind::ShareOfUnits.check_target(100.5).is_err());
        assert!(Kind::ShareOfUnits.check_target(-1.0).is_err());
        assert!(Kind::Count.check_target(2.0).is_ok());
        assert!(Kind::Count.check_target(2.5).is_err());
        assert!(Kind::PerMonth.check_target(f64::NAN).is_err());
        assert_eq!(Kind::parse("per_month"), Some(Kind::PerMonth));
        assert_eq!(Kind::parse("monthly"), None);
    }

    #[test]
    fn evidence_is_a_jpeg_png_or_pdf_as_declared() {
        let pdf = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n";
        assert_eq!(sniff_evidence(pdf), Some("application/pdf"));
        assert_eq!(check_evidence(pdf, "application/pdf"), Ok(()));
        assert!(check_evidence(b"%PDF-1.4\n1 0 obj", "application/pdf")
            .unwrap_err()
            .contains("truncated"));
        assert!(check_evidence(pdf, "image/png")
            .unwrap_err()
            .contains("not image/png"));
        assert!(check_evidence(b"<html>", "application/pdf")
            .unwrap_err()
            .contains("neither"));
        assert!(check_evidence(b"", "application/pdf")
            .unwrap_err()
            .contains("empty"));
        assert_eq!(evidence_extension("application/pdf"), "pdf");
    }
}
