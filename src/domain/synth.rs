//! Deterministic synthetic registry of establishments, for demos, load tests
//! and benchmarks, plus a reader for the administrative-units CSV files.
//!
//! Every random choice is the first 8 bytes (little endian) of
//! SHA-256(`"kiemtra-synth/1"`, seed, index, purpose), each part prefixed with
//! its length as a `u64` (see [`draw`]). So record `i` depends only on
//! (seed, i, its commune list): the output is the same on every platform and
//! Rust version, `generate(c, n, s)` is a prefix of `generate(c, n + k, s)`,
//! and adding a field later (a new purpose) leaves the other fields unchanged.
//! Changing any table below changes the output: treat them as versioned.

use std::collections::{HashMap, HashSet};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::text::nfc;
use super::LEVELS;

/// A commune with its position in the tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SynthCommune {
    /// GSO code of the commune.
    pub code: String,
    /// Name, e.g. "Phường Đông Thành".
    pub name: String,
    /// Code of the province it belongs to.
    pub province_code: String,
}

/// One generated establishment (fields match the establishments API create body).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SynthEstablishment {
    /// Licence number `<province>-<6 digits>-<index from 1>`, unique in one output.
    pub licence_no: String,
    /// Trading name, e.g. "Karaoke Hoàng Gia".
    pub name: String,
    /// One of [`super::BUSINESS_TYPES`].
    pub business_type: String,
    /// Code of the commune it lies in.
    pub org_unit_code: String,
    /// Street address ending with the commune's name.
    pub address: String,
    /// Owner's full name.
    pub owner_name: String,
    /// Mobile number "09xxxxxxxx".
    pub phone: String,
    /// WGS84 latitude, 6 decimals.
    pub latitude: f64,
    /// WGS84 longitude, 6 decimals.
    pub longitude: f64,
}

/// One row of an administrative-units CSV file (`code,name,level,parent_code`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitRow {
    /// GSO code.
    pub code: String,
    /// Name, NFC-normalised with whitespace collapsed.
    pub name: String,
    /// "province", "district" or "commune".
    pub level: String,
    /// Parent's code; `None` for a province.
    pub parent_code: Option<String>,
}

/// A latitude/longitude rectangle, in degrees (bounds inclusive).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BBox {
    /// Southern bound.
    pub lat_min: f64,
    /// Northern bound.
    pub lat_max: f64,
    /// Western bound.
    pub lon_min: f64,
    /// Eastern bound.
    pub lon_max: f64,
}

impl BBox {
    /// Whether the point lies inside the box (bounds included).
    pub fn contains(&self, lat: f64, lon: f64) -> bool {
        (self.lat_min..=self.lat_max).contains(&lat) && (self.lon_min..=self.lon_max).contains(&lon)
    }
}

/// Mainland Viet Nam, the fallback for a commune whose province is unknown.
pub const VIETNAM: BBox = BBox {
    lat_min: 8.5,
    lat_max: 23.4,
    lon_min: 102.1,
    lon_max: 109.5,
};

/// Business-type mix of the generated registry, in percent (sums to 100).
pub const BUSINESS_MIX: [(&str, u32); 14] = [
    ("karaoke", 18),
    ("guest_house", 16),
    ("restaurant", 14),
    ("massage", 10),
    ("hotel", 8),
    ("cafe", 8),
    ("hair_salon", 8),
    ("bar", 5),
    ("spa", 4),
    ("motel", 3),
    ("sauna", 2),
    ("rental_apartment", 2),
    ("dance_hall", 1),
    ("other", 1),
];

/// Parses a `code,name,level,parent_code` CSV file; errors name the line.
pub fn load_units_csv(text: &str) -> Result<Vec<UnitRow>, String> {
    let text = text.strip_prefix('\u{FEFF}').unwrap_or(text);
    let mut lines = text.lines().enumerate();
    match lines.next() {
        Some((_, header)) if header.trim() == "code,name,level,parent_code" => {}
        Some((_, header)) => {
            return Err(format!(
                "line 1: expected header code,name,level,parent_code, found {header:?}"
            ))
        }
        None => return Err("empty file: expected header code,name,level,parent_code".to_string()),
    }
    let mut rows = Vec::new();
    let mut seen = HashSet::new();
    for (i, line) in lines {
        let at = i + 1;
        if line.trim().is_empty() {
            continue;
        }
        if line.contains('"') {
            return Err(format!("line {at}: quoted fields are not supported"));
        }
        let fields: Vec<&str> = line.split(',').map(str::trim).collect();
        let [code, name, level, parent] = fields[..] else {
            return Err(format!(
                "line {at}: expected 4 fields, found {}",
                fields.len()
            ));
        };
        if code.is_empty() {
            return Err(format!("line {at}: code is empty"));
        }
        let name = nfc(name);
        if name.is_empty() {
            return Err(format!("line {at}: name is empty"));
        }
        if !LEVELS.contains(&level) {
            return Err(format!(
                "line {at}: level {level:?} is not one of {}",
                LEVELS.join(", ")
            ));
        }
        if !seen.insert(code.to_string()) {
            return Err(format!("line {at}: duplicate code {code}"));
        }
        rows.push(UnitRow {
            code: code.to_string(),
            name,
            level: level.to_string(),
            parent_code: Some(parent).filter(|p| !p.is_empty()).map(str::to_string),
        });
    }
    Ok(rows)
}

/// The communes in file order, each with its province; `Some(code)` keeps those under that unit.
///
/// The province is the nearest ancestor of level "province"; if the chain of
/// parents breaks (a parent missing from the file), the topmost code reached.
/// `Some(code)` may name a province or any other ancestor, such as a district.
pub fn communes_of(units: &[UnitRow], province: Option<&str>) -> Vec<SynthCommune> {
    let by_code: HashMap<&str, &UnitRow> = units.iter().map(|u| (u.code.as_str(), u)).collect();
    let mut out = Vec::new();
    for unit in units.iter().filter(|u| u.level == "commune") {
        let mut chain = vec![unit.code.as_str()];
        let mut current = unit;
        let mut province_code = None;
        // A malformed file may hold a cycle: stop at the first repeated code.
        for _ in 0..=units.len() {
            if current.level == "province" {
                province_code = Some(current.code.as_str());
                break;
            }
            let Some(parent) = current.parent_code.as_deref() else {
                break;
            };
            if chain.contains(&parent) {
                break;
            }
            chain.push(parent);
            match by_code.get(parent) {
                Some(p) => current = p,
                None => break,
            }
        }
        let province_code = province_code
            .or(chain.last().copied())
            .unwrap_or(&unit.code);
        if province.is_none_or(|p| chain.contains(&p)) {
            out.push(SynthCommune {
                code: unit.code.clone(),
                name: unit.name.clone(),
                province_code: province_code.to_string(),
            });
        }
    }
    out
}

/// Generates `count` establishments spread uniformly over `communes`; empty if there are none.
pub fn generate(communes: &[SynthCommune], count: usize, seed: u64) -> Vec<SynthEstablishment> {
    if communes.is_empty() {
        return Vec::new();
    }
    (0..count)
        .map(|i| establishment(communes, seed, i as u64))
        .collect()
}

/// The rough bounding box of a province of the 2024 file (63 codes, 01–96).
pub fn province_bbox(province_code: &str) -> Option<BBox> {
    PROVINCE_BOXES
        .iter()
        .find(|(code, ..)| *code == province_code)
        .map(|&(_, lat_min, lat_max, lon_min, lon_max)| BBox {
            lat_min,
            lat_max,
            lon_min,
            lon_max,
        })
}

/// The box a commune's establishments are placed in.
///
/// A five-digit GSO commune code names its 2024 province by its range (GSO
/// numbers communes province by province, and the 2025 communes kept one of
/// their predecessors' codes), which also places the communes of a merged
/// 2025 province in the right part of it. Otherwise the commune's province
/// code, and failing that, the whole country.
pub fn commune_bbox(commune: &SynthCommune) -> BBox {
    let code = commune.code.as_str();
    let by_range = (code.len() == 5 && code.bytes().all(|b| b.is_ascii_digit()))
        .then(|| code.parse::<u32>().ok())
        .flatten()
        .and_then(|n| COMMUNE_RANGES.iter().rev().find(|(first, _)| *first <= n))
        .and_then(|(_, province)| province_bbox(province));
    by_range
        .or_else(|| province_bbox(&commune.province_code))
        .unwrap_or(VIETNAM)
}

/// A pseudo-random `u64`: SHA-256 of (version tag, seed, index, purpose), length-prefixed.
pub fn draw(seed: u64, index: u64, purpose: &str) -> u64 {
    hash64(&[
        &seed.to_le_bytes(),
        &index.to_le_bytes(),
        purpose.as_bytes(),
    ])
}

fn hash64(parts: &[&[u8]]) -> u64 {
    let mut h = Sha256::new();
    for part in [b"kiemtra-synth/1".as_slice()].iter().chain(parts) {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    let digest = h.finalize();
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    u64::from_le_bytes(first)
}

/// Uniform in `0..n` (n > 0), by the high half of a 128-bit product.
fn below(r: u64, n: usize) -> usize {
    ((u128::from(r) * n as u128) >> 64) as usize
}

/// Uniform in [0, 1).
fn unit(r: u64) -> f64 {
    (r >> 11) as f64 / (1u64 << 53) as f64
}

fn pick<'a>(r: u64, items: &[&'a str]) -> &'a str {
    items[below(r, items.len())]
}

fn pick_weighted<'a>(r: u64, items: &[(&'a str, u32)]) -> &'a str {
    let total: u32 = items.iter().map(|(_, w)| w).sum();
    let mut x = below(r, total as usize) as u32;
    for (item, w) in items {
        if x < *w {
            return item;
        }
        x -= w;
    }
    items[items.len() - 1].0
}

fn establishment(communes: &[SynthCommune], seed: u64, i: u64) -> SynthEstablishment {
    let r = |purpose: &str| draw(seed, i, purpose);
    let commune = &communes[below(r("commune"), communes.len())];
    let business_type = pick_weighted(r("type"), &BUSINESS_MIX);

    let female = r("owner.gender") % 2 == 0;
    let (middles, givens) = if female {
        (FEMALE_MIDDLE, FEMALE_GIVEN)
    } else {
        (MALE_MIDDLE, MALE_GIVEN)
    };
    let owner_name = format!(
        "{} {} {}",
        pick_weighted(r("owner.surname"), SURNAMES),
        pick_weighted(r("owner.middle"), middles),
        pick(r("owner.given"), givens),
    );

    let brand = if r("brand.kind") % 4 == 0 {
        // Named after people, as many family businesses are: "Nhà nghỉ Minh Anh".
        let given: Vec<&str> = MALE_GIVEN.iter().chain(FEMALE_GIVEN).copied().collect();
        format!(
            "{} {}",
            pick(r("brand.first"), &given),
            pick(r("brand.second"), FEMALE_GIVEN)
        )
    } else {
        pick(r("brand"), BRANDS).to_string()
    };
    let branch = r("brand.branch");
    let mut name = format!("{} {}", pick(r("prefix"), prefixes(business_type)), brand);
    if branch % 10 == 0 {
        name = format!("{name} {}", 2 + branch / 10 % 3);
    }

    let rural = commune.name.starts_with("Xã ");
    let address = if rural && r("address.kind") % 2 == 0 {
        let southern = commune.province_code.parse::<u32>().is_ok_and(|c| c >= 70);
        let hamlets = if southern {
            HAMLETS_SOUTH
        } else {
            HAMLETS_NORTH
        };
        format!("{}, {}", pick(r("address.hamlet"), hamlets), commune.name)
    } else {
        format!(
            "Số {}, đường {}, {}",
            1 + below(r("address.number"), 300),
            pick(r("address.street"), STREETS),
            commune.name
        )
    };

    let phone = format!("09{:08}", r("phone") % 100_000_000);
    let licence_no = format!(
        "{}-{:06}-{}",
        commune.province_code,
        r("licence") % 1_000_000,
        i + 1
    );

    let (latitude, longitude) = position(commune, unit(r("lat")), unit(r("lon")));
    SynthEstablishment {
        licence_no,
        name,
        business_type: business_type.to_string(),
        org_unit_code: commune.code.clone(),
        address,
        owner_name,
        phone,
        latitude,
        longitude,
    }
}

/// Half-width, in degrees (about 2 km), of the cluster around a commune's centre.
const SPREAD: f64 = 0.02;

/// A point near the commune's centre, itself a fixed function of its code.
fn position(commune: &SynthCommune, u: f64, v: f64) -> (f64, f64) {
    let b = commune_bbox(commune);
    let centre = |lo: f64, hi: f64, purpose: &str| {
        let r = hash64(&[b"centre", commune.code.as_bytes(), purpose.as_bytes()]);
        lo + (hi - lo) * (0.1 + 0.8 * unit(r))
    };
    let place = |c: f64, t: f64, lo: f64, hi: f64| {
        let x = (c + SPREAD * (2.0 * t - 1.0)).clamp(lo, hi);
        ((x * 1e6).round() / 1e6).clamp(lo, hi)
    };
    let lat = place(centre(b.lat_min, b.lat_max, "lat"), u, b.lat_min, b.lat_max);
    let lon = place(centre(b.lon_min, b.lon_max, "lon"), v, b.lon_min, b.lon_max);
    (lat, lon)
}

fn prefixes(business_type: &str) -> &'static [&'static str] {
    match business_type {
        "karaoke" => &["Karaoke"],
        "dance_hall" => &["Vũ trường", "Club"],
        "bar" => &["Bar", "Quán bar", "Pub"],
        "massage" => &["Massage", "Massage", "Xoa bóp bấm huyệt", "Tẩm quất"],
        "sauna" => &["Xông hơi", "Tắm hơi", "Sauna"],
        "spa" => &["Spa", "Beauty Spa"],
        "hotel" => &["Khách sạn"],
        "guest_house" => &["Nhà nghỉ"],
        "motel" => &["Nhà trọ", "Motel"],
        "rental_apartment" => &["Căn hộ dịch vụ", "Chung cư mini", "Căn hộ cho thuê"],
        "restaurant" => &[
            "Nhà hàng",
            "Nhà hàng",
            "Quán nhậu",
            "Nhà hàng hải sản",
            "Lẩu nướng",
        ],
        "hair_salon" => &["Cắt tóc gội đầu", "Salon tóc", "Gội đầu thư giãn"],
        "cafe" => &["Cà phê", "Cà phê", "Cafe", "Cà phê sân vườn"],
        _ => &["Cơ sở dịch vụ", "Câu lạc bộ", "Phòng trà"],
    }
}

#[rustfmt::skip]
const BRANDS: &[&str] = &[
    "Hoàng Gia", "Bình An", "Thảo Nguyên", "Hoa Sen", "Ánh Dương", "Thiên Đường", "Phương Nam",
    "Sao Mai", "Hồng Nhung", "Kim Ngân", "Phú Quý", "Minh Châu", "Hải Âu", "Tràng An", "Thanh Bình",
    "Ngọc Lan", "Bạch Dương", "Trăng Vàng", "Mây Hồng", "Sông Hồng", "Sen Vàng", "Hạnh Phúc",
    "Tuổi Xanh", "Hoa Mai", "An Khang", "Thịnh Vượng", "Vạn Phúc", "Đông Phương", "Hoàng Hôn",
    "Bình Minh", "Gió Biển", "Thùy Dương", "Như Ý", "Cát Tường", "Phúc Lộc", "Thiên Long",
    "Hoàng Long", "Kim Long", "Thanh Xuân", "Hà Thành", "Hương Quê", "Phố Núi", "Tình Xưa",
    "Sóng Xanh", "Mặt Trời", "Ngôi Sao", "Hoa Hồng", "Thiên Thanh", "Hương Giang", "Kim Cương",
    "Ngọc Trai", "Diamond", "Galaxy", "Paradise", "Luxury", "Royal", "Sky", "Sunshine", "Venus",
];

#[rustfmt::skip]
const SURNAMES: &[(&str, u32)] = &[
    ("Nguyễn", 380), ("Trần", 110), ("Lê", 95), ("Phạm", 70), ("Hoàng", 40), ("Huỳnh", 20),
    ("Phan", 45), ("Vũ", 30), ("Võ", 10), ("Đặng", 21), ("Bùi", 20), ("Đỗ", 14), ("Hồ", 13),
    ("Ngô", 13), ("Dương", 10), ("Lý", 5), ("Đinh", 10), ("Đào", 8), ("Trịnh", 8), ("Mai", 6),
    ("Cao", 6), ("Lương", 6), ("Tạ", 4), ("Lưu", 4), ("Tô", 3), ("Hà", 5), ("Quách", 2),
];

#[rustfmt::skip]
const MALE_MIDDLE: &[(&str, u32)] = &[
    ("Văn", 40), ("Đức", 8), ("Minh", 8), ("Quang", 6), ("Hữu", 6), ("Công", 5), ("Thanh", 5),
    ("Xuân", 4), ("Đình", 5), ("Ngọc", 3), ("Mạnh", 3), ("Quốc", 4), ("Tiến", 2), ("Hoàng", 1),
];

#[rustfmt::skip]
const FEMALE_MIDDLE: &[(&str, u32)] = &[
    ("Thị", 50), ("Thu", 7), ("Ngọc", 7), ("Thanh", 6), ("Minh", 4), ("Hồng", 6), ("Phương", 4),
    ("Kim", 4), ("Thúy", 4), ("Mai", 3), ("Hải", 2), ("Bảo", 3),
];

#[rustfmt::skip]
const MALE_GIVEN: &[&str] = &[
    "An", "Bình", "Cường", "Dũng", "Hùng", "Hải", "Hiếu", "Huy", "Khánh", "Long", "Minh", "Nam",
    "Phong", "Quân", "Sơn", "Thắng", "Trung", "Tuấn", "Việt", "Vinh", "Đức", "Đạt", "Tiến", "Thành",
    "Hoàng", "Kiên", "Lâm", "Hưng", "Toàn", "Tùng", "Quang", "Hòa", "Tài", "Lộc", "Phúc",
];

#[rustfmt::skip]
const FEMALE_GIVEN: &[&str] = &[
    "Anh", "Bích", "Chi", "Dung", "Giang", "Hà", "Hạnh", "Hằng", "Hoa", "Hương", "Huyền", "Lan",
    "Linh", "Loan", "Mai", "Ngọc", "Nhung", "Oanh", "Phương", "Quỳnh", "Thảo", "Thủy", "Trang",
    "Tuyết", "Vân", "Yến", "Hiền", "Nga", "Thu", "Liên", "Ly", "Nhàn", "Xuân", "Duyên",
];

#[rustfmt::skip]
const STREETS: &[&str] = &[
    "Trần Hưng Đạo", "Lê Lợi", "Nguyễn Huệ", "Hai Bà Trưng", "Lý Thường Kiệt", "Quang Trung",
    "Lê Duẩn", "Nguyễn Trãi", "Điện Biên Phủ", "Hùng Vương", "Trường Chinh", "Phan Đình Phùng",
    "Nguyễn Du", "Trần Phú", "Lê Hồng Phong", "Ngô Quyền", "Đinh Tiên Hoàng", "Lê Thánh Tông",
    "Nguyễn Văn Cừ", "Võ Thị Sáu", "Tràng An", "Lê Đại Hành", "Đinh Bộ Lĩnh", "Phạm Văn Đồng",
    "Nguyễn Thị Minh Khai", "Bà Triệu", "Lạc Long Quân", "Âu Cơ", "Cách Mạng Tháng Tám",
    "Lý Thái Tổ", "Trần Nhân Tông", "Nguyễn Công Trứ", "Phan Bội Châu", "Hoàng Hoa Thám",
    "Nguyễn Thái Học", "Chu Văn An", "Tôn Đức Thắng", "Xuân Thủy", "Lương Văn Tụy", "Vân Giang",
];

#[rustfmt::skip]
const HAMLETS_NORTH: &[&str] = &[
    "Thôn Đông", "Thôn Đoài", "Thôn Nam", "Thôn Bắc", "Thôn Trung", "Thôn Thượng", "Thôn Hạ",
    "Thôn 1", "Thôn 2", "Thôn 3", "Thôn 4", "Thôn 5", "Thôn Yên Phú", "Thôn Đồng Tâm",
    "Thôn Quyết Tiến", "Thôn Tiền Phong", "Thôn Thắng Lợi", "Xóm Mới", "Xóm Chợ", "Xóm Bến",
];

#[rustfmt::skip]
const HAMLETS_SOUTH: &[&str] = &[
    "Ấp 1", "Ấp 2", "Ấp 3", "Ấp 4", "Ấp 5", "Ấp Bình Hòa", "Ấp Tân Lập", "Ấp Mỹ Phú",
    "Ấp Long Thạnh", "Ấp Phú Hòa", "Ấp An Thới", "Ấp Thạnh Lợi", "Ấp Chợ", "Ấp Tân Thành",
];

/// First commune code of each run of 2024 communes belonging to one province,
/// computed from `data/vn-admin-units-2024.csv` (Hà Nội's runs are split by
/// the communes it absorbed in 2008). A code belongs to the last run starting
/// at or below it; this also places the five 2025 island special zones whose
/// codes are new (Bạch Long Vĩ, Cồn Cỏ, Hoàng Sa, Lý Sơn, Côn Đảo).
#[rustfmt::skip]
const COMMUNE_RANGES: [(u32, &str); 70] = [
    (1, "01"), (688, "02"), (1267, "04"), (1834, "06"), (2200, "08"), (2635, "10"), (3124, "11"),
    (3386, "12"), (3646, "14"), (4249, "15"), (4789, "17"), (4927, "01"), (4942, "17"),
    (5431, "19"), (5971, "20"), (6649, "22"), (7201, "24"), (7888, "25"), (8707, "26"),
    (8973, "01"), (9025, "26"), (9163, "27"), (9538, "01"), (10507, "30"), (11296, "31"),
    (11950, "33"), (12433, "34"), (13285, "35"), (13636, "36"), (14320, "37"), (14755, "38"),
    (16663, "40"), (18073, "42"), (18853, "44"), (19330, "45"), (19750, "46"), (20194, "48"),
    (20335, "49"), (21010, "51"), (21550, "52"), (22015, "54"), (22327, "56"), (22738, "58"),
    (22739, "56"), (22741, "58"), (22915, "60"), (23281, "62"), (23557, "64"), (24118, "66"),
    (24611, "67"), (24769, "68"), (25195, "70"), (25456, "72"), (25741, "74"), (25993, "75"),
    (26506, "77"), (26734, "79"), (27685, "80"), (28249, "82"), (28756, "83"), (29236, "84"),
    (29542, "86"), (29869, "87"), (30280, "89"), (30733, "91"), (31117, "92"), (31318, "93"),
    (31498, "94"), (31813, "95"), (31999, "96"),
];

/// Approximate mainland bounding boxes of the 63 provinces of the 2024 file:
/// (code, lat_min, lat_max, lon_min, lon_max). Offshore islands are left out.
#[rustfmt::skip]
const PROVINCE_BOXES: [(&str, f64, f64, f64, f64); 63] = [
    ("01", 20.56, 21.39, 105.28, 106.02), // Hà Nội
    ("02", 22.13, 23.39, 104.33, 105.57), // Hà Giang
    ("04", 22.36, 23.12, 105.27, 106.84), // Cao Bằng
    ("06", 21.80, 22.74, 105.43, 106.25), // Bắc Kạn
    ("08", 21.48, 22.68, 104.88, 105.62), // Tuyên Quang
    ("10", 21.86, 22.85, 103.52, 104.63), // Lào Cai
    ("11", 20.88, 22.55, 102.14, 103.62), // Điện Biên
    ("12", 21.68, 22.82, 102.33, 103.98), // Lai Châu
    ("14", 20.57, 22.03, 103.18, 105.03), // Sơn La
    ("15", 21.33, 22.28, 103.94, 105.10), // Yên Bái
    ("17", 20.32, 21.14, 104.82, 105.87), // Hòa Bình
    ("19", 21.33, 22.05, 105.48, 106.24), // Thái Nguyên
    ("20", 21.32, 22.48, 106.08, 107.36), // Lạng Sơn
    ("22", 20.73, 21.68, 106.43, 108.07), // Quảng Ninh
    ("24", 21.12, 21.62, 105.88, 107.03), // Bắc Giang
    ("25", 20.92, 21.72, 104.80, 105.45), // Phú Thọ
    ("26", 21.13, 21.58, 105.32, 105.80), // Vĩnh Phúc
    ("27", 20.97, 21.27, 105.92, 106.32), // Bắc Ninh
    ("30", 20.62, 21.24, 106.03, 106.62), // Hải Dương
    ("31", 20.57, 21.02, 106.40, 107.12), // Hải Phòng
    ("33", 20.60, 21.02, 105.90, 106.28), // Hưng Yên
    ("34", 20.30, 20.73, 106.03, 106.63), // Thái Bình
    ("35", 20.35, 20.70, 105.77, 106.18), // Hà Nam
    ("36", 19.92, 20.58, 105.92, 106.55), // Nam Định
    ("37", 19.92, 20.45, 105.53, 106.18), // Ninh Bình
    ("38", 19.30, 20.67, 104.37, 106.08), // Thanh Hóa
    ("40", 18.55, 19.98, 103.87, 105.82), // Nghệ An
    ("42", 17.90, 18.78, 105.12, 106.50), // Hà Tĩnh
    ("44", 16.92, 18.09, 105.60, 106.98), // Quảng Bình
    ("45", 16.30, 17.18, 106.52, 107.40), // Quảng Trị
    ("46", 15.98, 16.73, 107.02, 108.20), // Huế
    ("48", 15.92, 16.20, 107.82, 108.33), // Đà Nẵng
    ("49", 14.95, 16.08, 107.22, 108.74), // Quảng Nam
    ("51", 14.53, 15.43, 108.10, 109.15), // Quảng Ngãi
    ("52", 13.50, 14.70, 108.60, 109.32), // Bình Định
    ("54", 12.70, 13.70, 108.67, 109.47), // Phú Yên
    ("56", 11.80, 12.87, 108.67, 109.43), // Khánh Hòa
    ("58", 11.30, 12.17, 108.55, 109.25), // Ninh Thuận
    ("60", 10.55, 11.57, 107.40, 108.90), // Bình Thuận
    ("62", 13.92, 15.42, 107.33, 108.55), // Kon Tum
    ("64", 12.97, 14.60, 107.48, 108.90), // Gia Lai
    ("66", 12.17, 13.42, 107.48, 108.98), // Đắk Lắk
    ("67", 11.75, 12.83, 107.20, 108.12), // Đắk Nông
    ("68", 11.22, 12.35, 107.28, 108.73), // Lâm Đồng
    ("70", 11.30, 12.30, 106.42, 107.45), // Bình Phước
    ("72", 10.95, 11.78, 105.82, 106.45), // Tây Ninh
    ("74", 10.88, 11.50, 106.33, 106.97), // Bình Dương
    ("75", 10.52, 11.58, 106.75, 107.58), // Đồng Nai
    ("77", 10.33, 10.82, 107.02, 107.60), // Bà Rịa - Vũng Tàu
    ("79", 10.37, 11.17, 106.35, 107.03), // Hồ Chí Minh
    ("80", 10.38, 11.03, 105.50, 106.78), // Long An
    ("82", 10.20, 10.60, 105.82, 106.78), // Tiền Giang
    ("83",  9.80, 10.33, 105.95, 106.82), // Bến Tre
    ("84",  9.52, 10.08, 105.95, 106.60), // Trà Vinh
    ("86",  9.88, 10.33, 105.68, 106.30), // Vĩnh Long
    ("87", 10.12, 10.97, 105.18, 105.95), // Đồng Tháp
    ("89", 10.18, 10.97, 104.77, 105.58), // An Giang
    ("91",  9.25, 10.55, 103.85, 105.55), // Kiên Giang
    ("92",  9.92, 10.33, 105.22, 105.85), // Cần Thơ
    ("93",  9.58, 10.03, 105.35, 105.90), // Hậu Giang
    ("94",  9.20,  9.93, 105.57, 106.30), // Sóc Trăng
    ("95",  9.03,  9.63, 105.23, 105.85), // Bạc Liêu
    ("96",  8.55,  9.55, 104.72, 105.42), // Cà Mau
];

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::BUSINESS_TYPES;

    const UNITS_2024: &str = include_str!("../../data/vn-admin-units-2024.csv");
    const UNITS_2025: &str = include_str!("../../data/vn-admin-units-2025.csv");
    const NINH_BINH_2024: &str = include_str!("../../data/ninh-binh-2024.csv");

    fn communes(text: &str, province: Option<&str>) -> Vec<SynthCommune> {
        communes_of(&load_units_csv(text).unwrap(), province)
    }

    fn count(units: &[UnitRow], level: &str) -> usize {
        units.iter().filter(|u| u.level == level).count()
    }

    #[test]
    fn loads_both_shapes_of_the_tree() {
        let u24 = load_units_csv(UNITS_2024).unwrap();
        assert_eq!(
            (
                count(&u24, "province"),
                count(&u24, "district"),
                count(&u24, "commune")
            ),
            (63, 696, 10_051)
        );
        let u25 = load_units_csv(UNITS_2025).unwrap();
        assert_eq!(
            (
                count(&u25, "province"),
                count(&u25, "district"),
                count(&u25, "commune")
            ),
            (34, 0, 3_321)
        );
        assert_eq!(
            u24[0],
            UnitRow {
                code: "01".into(),
                name: "Thành phố Hà Nội".into(),
                level: "province".into(),
                parent_code: None
            }
        );
        // Names are normalised: a few 2025 names hold a double space.
        let bac_dong_quan = u25.iter().find(|u| u.code == "12745").unwrap();
        assert_eq!(bac_dong_quan.name, "Xã Bắc Đông Quan");
    }

    #[test]
    fn rejects_malformed_files_naming_the_line() {
        let ok = "code,name,level,parent_code\n37,Tỉnh Ninh Bình,province,\n";
        assert_eq!(load_units_csv(ok).unwrap().len(), 1);
        assert_eq!(
            load_units_csv(&format!("\u{FEFF}{}", ok.replace('\n', "\r\n")))
                .unwrap()
                .len(),
            1
        );
        let bad = |body: &str| {
            load_units_csv(&format!(
                "code,name,level,parent_code\n37,Tỉnh Ninh Bình,province,\n{body}"
            ))
            .unwrap_err()
        };
        assert!(
            bad("370,\"Tam Điệp, TP\",district,37").starts_with("line 3: quoted"),
            "{}",
            bad("\"x\"")
        );
        assert!(bad("370,Tam Điệp,district").starts_with("line 3: expected 4 fields"));
        assert!(bad("370,Tam Điệp,huyện,37").starts_with("line 3: level"));
        assert!(bad("\n37,Again,province,").starts_with("line 4: duplicate code 37"));
        assert!(bad(",X,commune,37").starts_with("line 3: code is empty"));
        assert!(bad("370, ,district,37").starts_with("line 3: name is empty"));
        assert!(load_units_csv("").is_err());
        assert!(load_units_csv("ma,ten,cap,cha\n")
            .unwrap_err()
            .starts_with("line 1"));
    }

    #[test]
    fn finds_each_communes_province() {
        let nb = communes(NINH_BINH_2024, None);
        assert_eq!(nb.len(), 125);
        assert!(nb.iter().all(|c| c.province_code == "37"));
        let from_full: Vec<SynthCommune> = communes(UNITS_2024, Some("37"));
        assert_eq!(from_full, nb);
        assert_eq!(communes(UNITS_2024, None).len(), 10_051);
        assert_eq!(communes(UNITS_2024, Some("99")).len(), 0);
        // A district code selects its communes.
        let tam_diep = communes(UNITS_2024, Some("370"));
        assert!(!tam_diep.is_empty() && tam_diep.len() < nb.len());
        let all25 = communes(UNITS_2025, None);
        assert_eq!(all25.len(), 3_321);
        assert_eq!(
            all25
                .iter()
                .map(|c| c.province_code.as_str())
                .collect::<HashSet<_>>()
                .len(),
            34
        );
        assert!(communes(UNITS_2025, Some("37"))
            .iter()
            .all(|c| c.province_code == "37"));
    }

    #[test]
    fn broken_parent_chains_end_at_the_topmost_code() {
        let units = load_units_csv("code,name,level,parent_code\n370,Tam Điệp,district,37\n14321,Xã A,commune,370\n1,Xã B,commune,\n2,Xã C,commune,3\n3,Xã D,commune,2\n").unwrap();
        let c = communes_of(&units, None);
        let provinces: Vec<&str> = c.iter().map(|c| c.province_code.as_str()).collect();
        assert_eq!(provinces, ["37", "1", "3", "2"]);
        assert_eq!(communes_of(&units, Some("37")).len(), 1);
    }

    #[test]
    fn same_seed_same_registry_and_prefix_stable() {
        let c = communes(UNITS_2024, None);
        let a = generate(&c, 500, 7);
        assert_eq!(a, generate(&c, 500, 7));
        assert_eq!(a[..200], generate(&c, 200, 7)[..]);
        assert_ne!(a, generate(&c, 500, 8));
        assert!(generate(&[], 10, 7).is_empty());
        assert!(generate(&c, 0, 7).is_empty());
    }

    #[test]
    fn output_is_pinned_across_versions() {
        // If this fails, the generator changed: demo data and benchmarks move too.
        let e = &generate(&communes(NINH_BINH_2024, None), 3, 2016)[2];
        let pinned = format!("{e:?}");
        assert_eq!(pinned, PINNED, "{pinned}");
    }

    const PINNED: &str = r#"SynthEstablishment { licence_no: "37-227106-3", name: "Gội đầu thư giãn Hà Thành 2", business_type: "hair_salon", org_unit_code: "14638", address: "Xóm Chợ, Xã Ân Hòa", owner_name: "Nguyễn Minh Thành", phone: "0969367937", latitude: 20.02742, longitude: 105.684064 }"#;

    #[test]
    fn licence_numbers_are_unique() {
        let c = communes(UNITS_2024, None);
        let rows = generate(&c, 20_000, 42);
        let licences: HashSet<&str> = rows.iter().map(|r| r.licence_no.as_str()).collect();
        assert_eq!(licences.len(), rows.len());
        for r in &rows[..100] {
            let parts: Vec<&str> = r.licence_no.split('-').collect();
            assert_eq!(parts.len(), 3);
            assert_eq!(parts[1].len(), 6);
            assert!(parts[1].bytes().all(|b| b.is_ascii_digit()));
        }
    }

    #[test]
    fn business_mix_within_tolerance() {
        assert_eq!(BUSINESS_MIX.iter().map(|(_, w)| w).sum::<u32>(), 100);
        let mut mixed: Vec<&str> = BUSINESS_MIX.iter().map(|(t, _)| *t).collect();
        mixed.sort_unstable();
        let mut known = BUSINESS_TYPES.to_vec();
        known.sort_unstable();
        assert_eq!(mixed, known);
        let n = 20_000;
        for seed in [1, 2016] {
            let rows = generate(&communes(UNITS_2024, None), n, seed);
            for (t, w) in BUSINESS_MIX {
                let p = f64::from(w) / 100.0;
                let seen = rows.iter().filter(|r| r.business_type == t).count() as f64 / n as f64;
                let sigma = (p * (1.0 - p) / n as f64).sqrt();
                assert!((seen - p).abs() < 5.0 * sigma, "{t}: {seen} vs {p}");
            }
        }
    }

    #[test]
    fn coordinates_inside_the_province_box() {
        let c = communes(UNITS_2024, None);
        for r in generate(&c, 20_000, 3) {
            let province = &r.licence_no[..2];
            let b = province_bbox(province).unwrap();
            assert!(b.contains(r.latitude, r.longitude), "{r:?} outside {b:?}");
            assert!(VIETNAM.contains(r.latitude, r.longitude));
            assert_eq!((r.latitude * 1e6).round() / 1e6, r.latitude);
        }
        // 2025: inside the box of the commune's 2024 predecessor province.
        let c25 = communes(UNITS_2025, Some("37"));
        let rows = generate(&c25, 2_000, 3);
        let boxes: Vec<BBox> = ["35", "36", "37"]
            .iter()
            .map(|p| province_bbox(p).unwrap())
            .collect();
        for r in &rows {
            assert!(
                boxes.iter().any(|b| b.contains(r.latitude, r.longitude)),
                "{r:?}"
            );
        }
        // Nam Định's and Hà Nam's communes are not all piled into Ninh Bình's old box.
        let old = province_bbox("37").unwrap();
        assert!(
            rows.iter()
                .filter(|r| !old.contains(r.latitude, r.longitude))
                .count()
                > rows.len() / 3
        );
    }

    #[test]
    fn box_lookup_and_fallbacks() {
        let codes: HashSet<String> = load_units_csv(UNITS_2024)
            .unwrap()
            .into_iter()
            .filter(|u| u.level == "province")
            .map(|u| u.code)
            .collect();
        assert_eq!(codes.len(), PROVINCE_BOXES.len());
        for code in &codes {
            let b = province_bbox(code).unwrap();
            assert!(b.lat_min < b.lat_max && b.lon_min < b.lon_max, "{code}");
            assert!(
                VIETNAM.contains(b.lat_min, b.lon_min) && VIETNAM.contains(b.lat_max, b.lon_max),
                "{code}"
            );
        }
        assert!(COMMUNE_RANGES.windows(2).all(|w| w[0].0 < w[1].0));
        assert!(COMMUNE_RANGES.iter().all(|(_, p)| codes.contains(*p)));
        // Every 2024 commune's code range names its own province.
        for c in communes(UNITS_2024, None) {
            assert_eq!(
                commune_bbox(&c),
                province_bbox(&c.province_code).unwrap(),
                "{c:?}"
            );
        }
        let fake = |code: &str, province: &str| SynthCommune {
            code: code.into(),
            name: "Xã X".into(),
            province_code: province.into(),
        };
        assert_eq!(
            commune_bbox(&fake("C1", "37")),
            province_bbox("37").unwrap()
        );
        assert_eq!(commune_bbox(&fake("C1", "XX")), VIETNAM);
        let rows = generate(&[fake("C1", "XX")], 50, 1);
        assert!(rows
            .iter()
            .all(|r| VIETNAM.contains(r.latitude, r.longitude)));
    }

    #[test]
    fn rows_look_like_real_registrations() {
        let c = communes(UNITS_2024, None);
        let rows = generate(&c, 5_000, 9);
        let by_code: HashMap<&str, &SynthCommune> =
            c.iter().map(|c| (c.code.as_str(), c)).collect();
        for r in &rows {
            let commune = by_code[r.org_unit_code.as_str()];
            assert!(
                r.address.ends_with(&format!(", {}", commune.name)),
                "{}",
                r.address
            );
            assert!(
                r.address.starts_with("Số ") || commune.name.starts_with("Xã "),
                "{}",
                r.address
            );
            assert!(r
                .licence_no
                .starts_with(&format!("{}-", commune.province_code)));
            assert!(
                r.phone.len() == 10
                    && r.phone.starts_with("09")
                    && r.phone.bytes().all(|b| b.is_ascii_digit())
            );
            assert_eq!(r.owner_name.split(' ').count(), 3, "{}", r.owner_name);
            assert!(BUSINESS_TYPES.contains(&r.business_type.as_str()));
            assert_eq!(nfc(&r.name), r.name);
            assert_eq!(nfc(&r.address), r.address);
            assert!(
                r.name.chars().count() <= 200
                    && r.address.chars().count() <= 300
                    && r.licence_no.len() <= 64
            );
        }
        assert!(rows.iter().any(|r| r.name.starts_with("Karaoke ")));
        assert!(rows.iter().any(|r| r.name.starts_with("Nhà nghỉ ")));
        assert!(rows.iter().any(|r| r.owner_name.starts_with("Nguyễn Văn ")));
        assert!(rows.iter().any(|r| r.owner_name.contains(" Thị ")));
        assert!(rows.iter().filter(|r| !r.name.is_ascii()).count() > rows.len() / 2);
        // Uniform over communes: most communes are used, none hugely over-represented.
        let used: HashSet<&str> = rows.iter().map(|r| r.org_unit_code.as_str()).collect();
        assert!(used.len() > c.len() * 3 / 10);
    }
}
