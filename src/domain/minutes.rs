//! Inspection minutes as the field posts them, and the rules they must meet:
//! the outcome and its violations, the catalogue's fine ranges, the team's
//! members, the clock, the distance from the establishment.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Duration, FixedOffset, NaiveDateTime};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::status::{Outcome, Sanction};
use crate::error::{ApiError, FieldError};

/// How far the client's clock may run ahead of ours before the minutes are flagged.
pub const CLOCK_TOLERANCE_MIN: i64 = 10;
/// How far ahead a time may be before it is rejected as impossible.
pub const FUTURE_LIMIT_HOURS: i64 = 24;
/// The earliest year minutes may be dated, that of the earliest plan there
/// can be: surprise minutes (no plan) are bounded by it, minutes of an
/// assignment by their plan's year.
pub const EARLIEST_YEAR: i32 = 2000;
/// Distance from the registered position beyond which minutes are flagged.
pub const FAR_METRES: f64 = 500.0;
/// Largest photo accepted.
pub const PHOTO_LIMIT: usize = 10 * 1024 * 1024;

/// Where the minutes were taken.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct Location {
    /// Degrees north.
    pub latitude: f64,
    /// Degrees east.
    pub longitude: f64,
    /// The device's accuracy estimate, in metres.
    #[serde(default)]
    pub accuracy_m: Option<f64>,
}

/// One violation as posted.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, remote = "Self")]
pub struct ViolationIn {
    /// Its code in the violation catalogue.
    pub code: String,
    /// What the team saw.
    #[serde(default)]
    pub description: Option<String>,
    /// The proposed sanction, in its wire spelling.
    pub sanction: String,
    /// The fine, with the sanction fine only: an integer literal (đồng are
    /// counted whole; `3000000.0` is refused, not rounded).
    #[serde(default, deserialize_with = "crate::domain::json::opt_integer_literal")]
    pub fine_vnd: Option<i64>,
}

crate::domain::json::objects_only!(Location, ViolationIn);

/// `POST /inspections` body.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InspectionBody {
    /// The minutes' id, chosen by the client (what makes posting idempotent).
    pub id: String,
    /// The assignment the visit completes, if any.
    #[serde(default)]
    pub assignment_id: Option<String>,
    /// The establishment visited.
    pub establishment_id: String,
    /// The team that visited.
    pub team_id: String,
    /// When the visit began, RFC 3339 with offset.
    pub started_at: String,
    /// When the visit ended, RFC 3339 with offset.
    pub finished_at: String,
    /// Where the minutes were taken.
    #[serde(default)]
    pub location: Option<Location>,
    /// The team members present, by user id.
    pub members_present: Vec<String>,
    /// What the visit found, in its wire spelling.
    pub outcome: String,
    /// Free text.
    #[serde(default)]
    pub notes: Option<String>,
    /// The checklist's answers, an object.
    #[serde(default)]
    pub checklist: Option<serde_json::Value>,
    /// The violations found.
    #[serde(default)]
    pub violations: Vec<ViolationIn>,
}

/// SHA-256 of the body in canonical form (keys sorted, no white space).
pub fn body_hash(b: &InspectionBody) -> String {
    let v = serde_json::to_value(b).unwrap_or_default();
    hex::encode(Sha256::digest(v.to_string().as_bytes()))
}

/// What a version of the minutes says.
#[derive(Debug, Clone, Serialize)]
pub struct Content {
    /// When the visit began.
    pub started_at: DateTime<FixedOffset>,
    /// When the visit ended (its offset is the one stored).
    pub finished_at: DateTime<FixedOffset>,
    /// Where the minutes were taken.
    pub location: Option<Location>,
    /// The members present, lower-cased.
    pub members_present: Vec<String>,
    /// What the visit found, in its wire spelling.
    pub outcome: String,
    /// Free text, NFC.
    pub notes: Option<String>,
    /// The checklist's answers.
    pub checklist: Option<serde_json::Value>,
    /// The violations found.
    pub violations: Vec<ViolationIn>,
}

/// Parses an RFC 3339 time with offset, to the microsecond; pushes a field
/// error and returns `None` otherwise.
pub fn parse_time(
    errs: &mut Vec<FieldError>,
    field: &str,
    s: &str,
) -> Option<DateTime<FixedOffset>> {
    use chrono::SubsecRound;
    match DateTime::parse_from_rfc3339(s) {
        // Microseconds: what both backends store, so that the answer to the
        // first post and a later read agree.
        Ok(t) => Some(t.trunc_subsecs(6)),
        Err(_) => {
            errs.push(FieldError::new(
                field,
                "must be an RFC 3339 time with offset, e.g. 2016-07-01T09:30:00+07:00",
            ));
            None
        }
    }
}

/// Teams' members and catalogue entries, as checking minutes needs them.
#[derive(Default)]
pub struct Roster {
    /// Team id → its members' user ids.
    pub members: HashMap<String, HashSet<String>>,
    /// Violation code → (min fine, max fine).
    pub catalogue: HashMap<String, (Option<i64>, Option<i64>)>,
}

/// Whether a fine lies within the catalogue's range (positive when the
/// catalogue sets no minimum).
pub fn fine_in_range(fine: i64, min: Option<i64>, max: Option<i64>) -> bool {
    !(min.is_some_and(|m| fine < m) || max.is_some_and(|m| fine > m) || fine <= 0)
}

/// Checks the content against the team, the catalogue and the clock: times
/// from 1 January of `earliest_year` (in Vietnam; the plan's year, or
/// [`EARLIEST_YEAR`]) to a day after `received`. Returns whether the client
/// clock looks ahead of ours.
pub fn validate_content(
    roster: &Roster,
    team_id: &str,
    c: &Content,
    received: NaiveDateTime,
    earliest_year: i32,
) -> Result<bool, ApiError> {
    let mut errs = Vec::new();
    let recv = received.and_utc();
    let earliest = chrono::NaiveDate::from_ymd_opt(earliest_year, 1, 1)
        .map(|d| crate::domain::calendar::day_start(d).and_utc());
    let mut skew = false;
    for (field, t) in [("started_at", c.started_at), ("finished_at", c.finished_at)] {
        if earliest.is_some_and(|e| t < e) {
            errs.push(FieldError::new(
                field,
                format!("is before {earliest_year}, the earliest year these minutes may be dated"),
            ));
        } else if t > recv + Duration::hours(FUTURE_LIMIT_HOURS) {
            errs.push(FieldError::new(field, "is in the future"));
        } else if t > recv + Duration::minutes(CLOCK_TOLERANCE_MIN) {
            skew = true;
        }
    }
    if c.finished_at < c.started_at {
        errs.push(FieldError::new("finished_at", "is before started_at"));
    }
    if let Some(l) = &c.location {
        if !(-90.0..=90.0).contains(&l.latitude) {
            errs.push(FieldError::new(
                "location.latitude",
                "must be between -90 and 90",
            ));
        }
        if !(-180.0..=180.0).contains(&l.longitude) {
            errs.push(FieldError::new(
                "location.longitude",
                "must be between -180 and 180",
            ));
        }
        if l.accuracy_m
            .is_some_and(|a| !(0.0..=100_000.0).contains(&a))
        {
            errs.push(FieldError::new(
                "location.accuracy_m",
                "must be between 0 and 100000",
            ));
        }
    }
    if c.checklist.as_ref().is_some_and(|v| !v.is_object()) {
        errs.push(FieldError::new("checklist", "must be an object"));
    }
    let outcome = Outcome::parse(&c.outcome);
    if outcome.is_none() {
        errs.push(FieldError::new("outcome", Outcome::one_of()));
    }
    let found = outcome == Some(Outcome::ViolationsFound);
    match (found, c.violations.is_empty()) {
        (true, true) => errs.push(FieldError::new(
            "violations",
            "outcome violations_found needs at least one violation",
        )),
        (false, false) => errs.push(FieldError::new(
            "violations",
            format!("must be empty when the outcome is {}", c.outcome),
        )),
        _ => {}
    }
    if c.members_present.is_empty() {
        errs.push(FieldError::new(
            "members_present",
            "at least one team member must be present",
        ));
    }
    let members = roster.members.get(team_id);
    let mut seen = HashSet::new();
    for (i, m) in c.members_present.iter().enumerate() {
        if !members.is_some_and(|ms| ms.contains(&m.to_lowercase())) {
            errs.push(FieldError::new(
                format!("members_present[{i}]"),
                "is not a member of the team",
            ));
        } else if !seen.insert(m.to_lowercase()) {
            errs.push(FieldError::new(
                format!("members_present[{i}]"),
                "is listed twice",
            ));
        }
    }
    for (i, v) in c.violations.iter().enumerate() {
        let Some(&(min, max)) = roster.catalogue.get(&v.code) else {
            errs.push(FieldError::new(
                format!("violations[{i}].code"),
                "is not in the violation catalogue",
            ));
            continue;
        };
        let sanction = Sanction::parse(&v.sanction);
        if sanction.is_none() {
            errs.push(FieldError::new(
                format!("violations[{i}].sanction"),
                Sanction::one_of(),
            ));
        }
        match (sanction == Some(Sanction::Fine), v.fine_vnd) {
            (true, None) => errs.push(FieldError::new(
                format!("violations[{i}].fine_vnd"),
                "is required with a fine",
            )),
            (true, Some(f)) if !fine_in_range(f, min, max) => {
                errs.push(FieldError::new(
                    format!("violations[{i}].fine_vnd"),
                    format!(
                        "must be within the catalogue range {}–{} VND",
                        min.unwrap_or(1),
                        max.map(|m| m.to_string()).unwrap_or("∞".into())
                    ),
                ));
            }
            (true, Some(_)) => {}
            (false, Some(_)) => errs.push(FieldError::new(
                format!("violations[{i}].fine_vnd"),
                "is only for the sanction fine",
            )),
            (false, None) => {}
        }
    }
    if errs.is_empty() {
        Ok(skew)
    } else {
        Err(ApiError::Validation(errs))
    }
}

/// Great-circle distance in metres.
pub fn haversine_m(lat1: f64, lon1: f64, lat2: f64, lon2: f64) -> f64 {
    let r = 6_371_000.0_f64;
    let (p1, p2) = (lat1.to_radians(), lat2.to_radians());
    let dp = (lat2 - lat1).to_radians();
    let dl = (lon2 - lon1).to_radians();
    let a = (dp / 2.0).sin().powi(2) + p1.cos() * p2.cos() * (dl / 2.0).sin().powi(2);
    2.0 * r * a.sqrt().asin()
}

/// How far the minutes were taken from the establishment's registered
/// position, when both are known.
pub fn distance_m(location: Option<&Location>, lat: Option<f64>, lon: Option<f64>) -> Option<f64> {
    match (location, lat, lon) {
        (Some(l), Some(la), Some(lo)) => Some(haversine_m(l.latitude, l.longitude, la, lo)),
        _ => None,
    }
}

/// Whether minutes taken `distance` metres away are flagged as far from the site.
pub fn far_from_site(distance: Option<f64>) -> bool {
    distance.is_some_and(|d| d > FAR_METRES)
}

/// Whether `sha` is a SHA-256 as the attachment paths spell it: 64
/// lower-case hex digits.
pub fn is_sha256_hex(sha: &str) -> bool {
    sha.len() == 64
        && sha
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
}

/// The kind of photo the bytes are, from their magic number: JPEG or PNG.
pub fn sniff_photo(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(&PNG_SIGNATURE) {
        Some("image/png")
    } else {
        None
    }
}

const PNG_SIGNATURE: [u8; 8] = [0x89, b'P', b'N', b'G', 0x0D, 0x0A, 0x1A, 0x0A];

/// Widest and tallest photo accepted, in pixels.
pub const PHOTO_MAX_SIDE: u32 = 16_384;
/// Most memory decoding one photo may take (a 12-megapixel photo takes
/// 36 MiB, a 50-megapixel one 150 MiB).
pub const PHOTO_MAX_DECODED: u64 = 256 * 1024 * 1024;

/// Where a PNG ends: just after its `IEND` chunk (`None` when the chunks
/// do not lead there).
fn png_end(b: &[u8]) -> Option<usize> {
    let mut pos = PNG_SIGNATURE.len();
    loop {
        let head = b.get(pos..pos.checked_add(8)?)?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        let next = pos.checked_add(12)?.checked_add(len)?;
        if next > b.len() {
            return None;
        }
        if &head[4..8] == b"IEND" {
            return Some(next);
        }
        pos = next;
    }
}

/// Where a JPEG ends: just after its end-of-image marker (`FF D9`),
/// following the segments by their lengths and the entropy-coded data to
/// the next real marker (`None` when they do not lead there).
fn jpeg_end(b: &[u8]) -> Option<usize> {
    if !b.starts_with(&[0xFF, 0xD8]) {
        return None;
    }
    let mut pos = 2;
    loop {
        if *b.get(pos)? != 0xFF {
            return None;
        }
        while *b.get(pos)? == 0xFF {
            pos += 1;
        }
        let code = b[pos];
        pos += 1;
        match code {
            0xD9 => return Some(pos),
            0x01 | 0xD0..=0xD7 => continue,
            0x00 | 0xD8 => return None,
            _ => {
                let len = u16::from_be_bytes([*b.get(pos)?, *b.get(pos + 1)?]) as usize;
                if len < 2 {
                    return None;
                }
                pos = pos.checked_add(len)?;
                if pos > b.len() {
                    return None;
                }
                if code == 0xDA {
                    // Scan data: up to the next 0xFF that is neither a
                    // stuffed zero nor a restart marker.
                    loop {
                        let ff = pos + b.get(pos..)?.iter().position(|&x| x == 0xFF)?;
                        let mut j = ff + 1;
                        while *b.get(j)? == 0xFF {
                            j += 1;
                        }
                        if matches!(b[j], 0x00 | 0xD0..=0xD7) {
                            pos = j + 1;
                        } else {
                            pos = ff;
                            break;
                        }
                    }
                }
            }
        }
    }
}

/// Checks that `bytes` are one whole photo of the `declared` type
/// (`image/jpeg` or `image/png`): the magic number says so, the image
/// decodes in full (within [`PHOTO_MAX_SIDE`] and [`PHOTO_MAX_DECODED`]),
/// and nothing follows its end (`IEND`, `FF D9`), so that no HTML or
/// script rides along after a valid picture. The error is the message for
/// the `body` field.
pub fn check_photo(bytes: &[u8], declared: &str) -> Result<(), String> {
    let kind = sniff_photo(bytes).ok_or("the content is neither JPEG nor PNG")?;
    if kind != declared {
        return Err(format!("the content is {kind}, not {declared}"));
    }
    let (end, format) = if kind == "image/png" {
        (png_end(bytes), image::ImageFormat::Png)
    } else {
        (jpeg_end(bytes), image::ImageFormat::Jpeg)
    };
    let end = end.ok_or_else(|| format!("the content is not a complete {kind} image"))?;
    if end < bytes.len() {
        return Err(format!(
            "{} bytes follow the end of the {kind} image",
            bytes.len() - end
        ));
    }
    let mut reader = image::ImageReader::with_format(std::io::Cursor::new(bytes), format);
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(PHOTO_MAX_SIDE);
    limits.max_image_height = Some(PHOTO_MAX_SIDE);
    limits.max_alloc = Some(PHOTO_MAX_DECODED);
    reader.limits(limits);
    reader
        .decode()
        .map(|_| ())
        .map_err(|e| format!("the content does not decode as {kind}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(format: image::ImageFormat) -> Vec<u8> {
        let img =
            image::RgbImage::from_fn(8, 6, |x, y| image::Rgb([x as u8 * 30, y as u8 * 40, 90]));
        let mut out = std::io::Cursor::new(Vec::new());
        img.write_to(&mut out, format).unwrap();
        out.into_inner()
    }

    #[test]
    fn whole_photos_of_the_declared_type_pass() {
        let png = encoded(image::ImageFormat::Png);
        let jpeg = encoded(image::ImageFormat::Jpeg);
        assert_eq!(check_photo(&png, "image/png"), Ok(()));
        assert_eq!(check_photo(&jpeg, "image/jpeg"), Ok(()));
        assert!(check_photo(&png, "image/jpeg").is_err());
        assert!(check_photo(&jpeg, "image/png").is_err());
    }

    #[test]
    fn anything_after_the_image_is_refused() {
        for (format, kind) in [
            (image::ImageFormat::Png, "image/png"),
            (image::ImageFormat::Jpeg, "image/jpeg"),
        ] {
            let mut polyglot = encoded(format);
            polyglot.extend_from_slice(b"<html><script>alert(1)</script></html>");
            let err = check_photo(&polyglot, kind).unwrap_err();
            assert!(err.contains("follow the end"), "{err}");
        }
    }

    #[test]
    fn a_signature_followed_by_anything_else_is_refused() {
        let mut fake = PNG_SIGNATURE.to_vec();
        fake.extend_from_slice(b"<html><script>alert(1)</script></html>");
        assert!(check_photo(&fake, "image/png").is_err());
        let mut fake = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x04, 0, 0, 0xFF, 0xD9];
        assert!(check_photo(&fake, "image/jpeg").is_err());
        fake.truncate(3);
        assert!(check_photo(&fake, "image/jpeg").is_err());
    }

    #[test]
    fn truncated_or_corrupt_photos_are_refused() {
        for (format, kind) in [
            (image::ImageFormat::Png, "image/png"),
            (image::ImageFormat::Jpeg, "image/jpeg"),
        ] {
            let whole = encoded(format);
            for cut in [whole.len() / 2, whole.len() - 1] {
                assert!(
                    check_photo(&whole[..cut], kind).is_err(),
                    "{kind} cut at {cut}"
                );
            }
        }
        // A flipped bit in the PNG's pixel data fails its checksum.
        let mut png = encoded(image::ImageFormat::Png);
        let idat = png.windows(4).position(|w| w == b"IDAT").unwrap();
        png[idat + 6] ^= 0x55;
        assert!(check_photo(&png, "image/png").is_err());
    }

    #[test]
    fn fines_outside_the_catalogue_range_are_refused() {
        assert!(fine_in_range(500, Some(100), Some(1000)));
        assert!(!fine_in_range(50, Some(100), Some(1000)));
        assert!(!fine_in_range(5000, Some(100), Some(1000)));
        assert!(!fine_in_range(0, None, None));
        assert!(fine_in_range(1, None, None));
    }

    #[test]
    fn far_is_beyond_500_metres() {
        // One thousandth of a degree of latitude is about 111 m.
        let d = haversine_m(21.0, 105.0, 21.001, 105.0);
        assert!((d - 111.2).abs() < 0.5, "{d}");
        assert!(!far_from_site(Some(d)));
        assert!(far_from_site(Some(501.0)));
        assert!(!far_from_site(None));
    }
}
