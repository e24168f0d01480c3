//! Vietnamese presentation: numbers `1.234`, percentages `14,5 %`, money
//! `1.500.000 ₫`, dates `dd/mm/yyyy` in Vietnam time (UTC+7, no summer
//! time), and the officials' words for the API's codes.

use chrono::{DateTime, FixedOffset, NaiveDate, NaiveDateTime, Utc};

/// Vietnam's offset from UTC (Asia/Ho_Chi_Minh has had no DST since 1975).
pub fn vn_offset() -> FixedOffset {
    FixedOffset::east_opt(7 * 3600).expect("a valid offset")
}

/// `1234567` → `1.234.567`.
pub fn num(n: i64) -> String {
    let digits = n.unsigned_abs().to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3 + 1);
    if n < 0 {
        out.push('-');
    }
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

/// `14.5` → `14,5 %` (one decimal, comma).
pub fn pct(p: f64) -> String {
    let p = if p.is_finite() { p } else { 0.0 };
    let s = format!("{:.1}", p);
    let (int, frac) = s.split_once('.').unwrap_or((&s, "0"));
    let int: i64 = int.parse().unwrap_or(0);
    let sign = if p < 0.0 && int == 0 { "-" } else { "" };
    format!("{sign}{},{frac} %", num(int))
}

/// `1500000` → `1.500.000 ₫`.
pub fn vnd(n: i64) -> String {
    format!("{} ₫", num(n))
}

/// `2016-07-02` → `02/07/2016`.
pub fn date(d: NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// An RFC 3339 instant as Vietnam time `dd/mm/yyyy HH:MM`; anything else
/// as it came.
pub fn datetime(s: &str) -> String {
    match DateTime::parse_from_rfc3339(s) {
        Ok(t) => t
            .with_timezone(&vn_offset())
            .format("%d/%m/%Y %H:%M")
            .to_string(),
        Err(_) => match NaiveDate::parse_from_str(s, "%Y-%m-%d") {
            Ok(d) => date(d),
            Err(_) => s.to_string(),
        },
    }
}

/// A stored UTC instant as Vietnam time `dd/mm/yyyy HH:MM`.
pub fn utc(t: &NaiveDateTime) -> String {
    DateTime::<Utc>::from_naive_utc_and_offset(*t, Utc)
        .with_timezone(&vn_offset())
        .format("%d/%m/%Y %H:%M")
        .to_string()
}

/// Today in Vietnam.
pub fn today() -> NaiveDate {
    Utc::now().with_timezone(&vn_offset()).date_naive()
}

/// Looks `code` up in a table of (code, label); the code itself if absent.
fn label<'a>(table: &[(&str, &'a str)], code: &'a str) -> &'a str {
    table
        .iter()
        .find(|(c, _)| *c == code)
        .map(|(_, l)| *l)
        .unwrap_or(code)
}

/// Business types (loại hình kinh doanh), in the API's order.
pub const BUSINESS_TYPES: [(&str, &str); 14] = [
    ("karaoke", "Karaoke"),
    ("dance_hall", "Vũ trường"),
    ("bar", "Quán bar"),
    ("massage", "Xoa bóp (massage)"),
    ("sauna", "Tắm hơi (xông hơi)"),
    ("spa", "Spa"),
    ("hotel", "Khách sạn"),
    ("guest_house", "Nhà nghỉ"),
    ("motel", "Nhà trọ"),
    ("rental_apartment", "Căn hộ cho thuê"),
    ("restaurant", "Nhà hàng"),
    ("hair_salon", "Cắt tóc – gội đầu"),
    ("cafe", "Cà phê đèn mờ"),
    ("other", "Khác"),
];

/// A business type's name.
pub fn business_type(code: &str) -> &str {
    label(&BUSINESS_TYPES, code)
}

/// An establishment's status.
pub fn establishment_status(code: &str) -> &str {
    label(
        &[
            ("active", "Đang hoạt động"),
            ("closed", "Đã ngừng hoạt động"),
        ],
        code,
    )
}

/// What a visit found.
pub fn outcome(code: &str) -> &str {
    label(
        &[
            ("no_violation", "Không vi phạm"),
            ("violations_found", "Có vi phạm"),
            ("closed", "Cơ sở đã đóng cửa"),
            ("refused_entry", "Không cho kiểm tra"),
            ("not_found", "Không tìm thấy cơ sở"),
        ],
        code,
    )
}

/// A sanction.
pub fn sanction(code: &str) -> &str {
    label(
        &[
            ("warning", "Cảnh cáo"),
            ("fine", "Phạt tiền"),
            ("suspension", "Đình chỉ hoạt động"),
            ("referral", "Chuyển cơ quan công an"),
        ],
        code,
    )
}

/// A review status.
pub fn review_status(code: &str) -> &str {
    label(
        &[
            ("pending", "Chờ duyệt"),
            ("accepted", "Đã chấp nhận"),
            ("returned", "Đã trả lại"),
        ],
        code,
    )
}

/// An administrative level.
pub fn level(code: &str) -> &str {
    label(
        &[
            ("province", "Cấp tỉnh"),
            ("district", "Cấp huyện"),
            ("commune", "Cấp xã"),
        ],
        code,
    )
}

/// A role.
pub fn role(code: &str) -> &str {
    label(
        &[
            ("admin", "Quản trị viên"),
            ("supervisor", "Giám sát viên"),
            ("inspector", "Thành viên đội kiểm tra"),
        ],
        code,
    )
}

/// Agencies of a team's members.
pub const AGENCIES: [(&str, &str); 5] = [
    ("labour_social_affairs", "Lao động – Thương binh và Xã hội"),
    ("police", "Công an"),
    ("culture_sports_tourism", "Văn hóa – Thể thao và Du lịch"),
    ("health", "Y tế"),
    ("other", "Cơ quan khác"),
];

/// An agency's name.
pub fn agency(code: &str) -> &str {
    label(&AGENCIES, code)
}

/// A plan's status.
pub fn plan_status(code: &str) -> &str {
    label(
        &[
            ("draft", "Dự thảo (chưa bốc thăm)"),
            ("drawn", "Đã bốc thăm"),
            ("cancelled", "Đã hủy"),
        ],
        code,
    )
}

/// An assignment's status.
pub fn assignment_status(code: &str) -> &str {
    label(
        &[
            ("pending", "Chưa lên lịch"),
            ("scheduled", "Đã lên lịch"),
            ("completed", "Đã kiểm tra"),
            ("cancelled", "Đã hủy"),
        ],
        code,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_the_vietnamese_way() {
        assert_eq!(num(0), "0");
        assert_eq!(num(999), "999");
        assert_eq!(num(1234), "1.234");
        assert_eq!(num(1234567), "1.234.567");
        assert_eq!(num(-200000), "-200.000");
        assert_eq!(pct(14.5), "14,5 %");
        assert_eq!(pct(100.0), "100,0 %");
        assert_eq!(pct(1234.25), "1.234,2 %");
        assert_eq!(vnd(1_500_000), "1.500.000 ₫");
    }

    #[test]
    fn dates_are_vietnam_days() {
        assert_eq!(
            date(NaiveDate::from_ymd_opt(2016, 7, 2).unwrap()),
            "02/07/2016"
        );
        // 20:30 UTC is 03:30 the next morning in Hà Nội.
        assert_eq!(datetime("2016-07-02T20:30:00Z"), "03/07/2016 03:30");
        assert_eq!(datetime("2016-07-02T08:00:00+07:00"), "02/07/2016 08:00");
        assert_eq!(datetime("2016-07-02"), "02/07/2016");
    }
}
