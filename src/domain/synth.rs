//! Temporary synthetic registry (to be replaced).

/// A commune.
pub struct SynthCommune { pub code: String, pub name: String, pub province_code: String }
/// A generated establishment.
#[derive(Debug, Clone, serde::Serialize)]
pub struct SynthEstablishment { pub licence_no: String, pub name: String, pub business_type: String, pub org_unit_code: String, pub address: String, pub owner_name: String, pub phone: String, pub latitude: f64, pub longitude: f64 }
/// A unit row.
pub struct UnitRow { pub code: String, pub name: String, pub level: String, pub parent_code: Option<String> }
/// Parses units.
pub fn load_units_csv(text: &str) -> Result<Vec<UnitRow>, String> {
    Ok(text.lines().skip(1).filter(|l| !l.is_empty()).map(|l| { let f: Vec<&str> = l.split(',').collect(); UnitRow { code: f[0].into(), name: f[1].into(), level: f[2].into(), parent_code: f.get(3).filter(|s| !s.is_empty()).map(|s| s.to_string()) } }).collect())
}
/// Communes of a province.
pub fn communes_of(units: &[UnitRow], province: Option<&str>) -> Vec<SynthCommune> {
    let parent: std::collections::HashMap<&str, Option<&str>> = units.iter().map(|u| (u.code.as_str(), u.parent_code.as_deref())).collect();
    units.iter().filter(|u| u.level == "commune").filter_map(|u| { let mut c = u.code.as_str(); while let Some(Some(p)) = parent.get(c) { c = p; } if province.is_none_or(|p| p == c) { Some(SynthCommune { code: u.code.clone(), name: u.name.clone(), province_code: c.into() }) } else { None } }).collect()
}
/// Generates.
pub fn generate(communes: &[SynthCommune], count: usize, seed: u64) -> Vec<SynthEstablishment> {
    let types = ["karaoke", "guest_house", "restaurant", "massage", "hotel", "cafe", "hair_salon", "bar"];
    (0..count).map(|i| { let c = &communes[(i * 7 + seed as usize) % communes.len()]; SynthEstablishment { licence_no: format!("{}-{:06}-{i}", c.province_code, seed), name: format!("Cơ sở {i}"), business_type: types[i % types.len()].into(), org_unit_code: c.code.clone(), address: format!("Số {i}, {}", c.name), owner_name: "Nguyễn Văn An".into(), phone: "0912345678".into(), latitude: 20.2, longitude: 105.9 } }).collect()
}
