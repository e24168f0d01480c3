//! The Vietnamese words printed for the API's codes (business types,
//! outcomes, sanctions, levels, periods): reports and minutes show these,
//! never the wire spelling.

/// The Vietnamese name of a business type (the wire code itself if unknown).
pub fn business_type_vi(code: &str) -> &str {
    match code {
        "karaoke" => "Karaoke",
        "dance_hall" => "Vũ trường",
        "bar" => "Quán bar",
        "massage" => "Xoa bóp (massage)",
        "sauna" => "Tắm hơi, xông hơi",
        "spa" => "Spa, chăm sóc sắc đẹp",
        "hotel" => "Khách sạn",
        "guest_house" => "Nhà nghỉ",
        "motel" => "Nhà trọ, nhà khách",
        "rental_apartment" => "Căn hộ cho thuê",
        "restaurant" => "Nhà hàng",
        "hair_salon" => "Cắt tóc, gội đầu",
        "cafe" => "Cà phê, giải khát",
        "other" => "Loại hình khác",
        other => other,
    }
}

/// What a visit found, in Vietnamese.
pub fn outcome_vi(code: &str) -> &str {
    match code {
        "no_violation" => "Đã kiểm tra, không vi phạm",
        "violations_found" => "Đã kiểm tra, có vi phạm",
        "closed" => "Cơ sở đã đóng cửa, ngừng kinh doanh",
        "refused_entry" => "Cơ sở không chấp hành kiểm tra",
        "not_found" => "Không tìm thấy cơ sở",
        other => other,
    }
}

/// A proposed sanction, in Vietnamese.
pub fn sanction_vi(code: &str) -> &str {
    match code {
        "warning" => "Cảnh cáo",
        "fine" => "Phạt tiền",
        "suspension" => "Đình chỉ hoạt động",
        "referral" => "Chuyển cơ quan có thẩm quyền",
        other => other,
    }
}

/// A level of the tree (or of a team), in Vietnamese.
pub fn level_vi(code: &str) -> &str {
    match code {
        "province" => "Cấp tỉnh",
        "district" => "Cấp huyện",
        "commune" => "Cấp xã",
        other => other,
    }
}

/// A report's period as the title says it: `Quý II năm 2016`.
pub fn period_vi(period: &str, year: i32) -> String {
    match period {
        "Q1" => format!("Quý I năm {year}"),
        "Q2" => format!("Quý II năm {year}"),
        "Q3" => format!("Quý III năm {year}"),
        "Q4" => format!("Quý IV năm {year}"),
        "H1" => format!("6 tháng đầu năm {year}"),
        _ => format!("năm {year}"),
    }
}

/// The Vietnamese title of a catalogue entry: an old bilingual title
/// `Vietnamese / English` loses its English half.
pub fn title_vi(title: &str) -> &str {
    title.split(" / ").next().unwrap_or(title).trim()
}

/// A date as officials write it: `dd/mm/yyyy`.
pub fn date_vi(d: chrono::NaiveDate) -> String {
    d.format("%d/%m/%Y").to_string()
}

/// An integer with dots between thousands: `1.234.567`.
pub fn int_vi(n: i64) -> String {
    let s = n.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    if n < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// A percentage with a decimal comma: `14,5 %`.
pub fn percent_vi(p: f64) -> String {
    format!("{:.1} %", p).replace('.', ",")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_the_vietnamese_way() {
        assert_eq!(int_vi(17_000_000), "17.000.000");
        assert_eq!(int_vi(999), "999");
        assert_eq!(percent_vi(14.5), "14,5 %");
        assert_eq!(
            title_vi("Ánh sáng phòng karaoke dưới 10 lux / Karaoke room lighting"),
            "Ánh sáng phòng karaoke dưới 10 lux"
        );
        for t in crate::domain::BUSINESS_TYPES {
            assert_ne!(business_type_vi(t), t, "{t}");
        }
    }
}
