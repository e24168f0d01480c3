//! The establishment's fields, parsed from the API or an import row.

use serde::Deserialize;

use super::text::{fold, nfc};
use super::BUSINESS_TYPES;
use crate::error::FieldError;

/// The create body of `POST /establishments` (also one import row).
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct EstablishmentInput {
    /// Business licence number, unique.
    pub licence_no: String,
    /// Trading name.
    pub name: String,
    /// One of [`BUSINESS_TYPES`].
    pub business_type: String,
    /// The commune (or any unit) it lies in.
    pub org_unit_code: String,
    /// Street address.
    pub address: String,
    /// Owner's name.
    pub owner_name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// WGS84 latitude.
    pub latitude: Option<f64>,
    /// WGS84 longitude.
    pub longitude: Option<f64>,
}

/// Validated establishment fields, NFC-normalised.
#[derive(Debug, Clone, PartialEq)]
pub struct EstablishmentFields {
    /// Licence number.
    pub licence_no: String,
    /// Name.
    pub name: String,
    /// Name folded for search.
    pub name_fold: String,
    /// Business type.
    pub business_type: String,
    /// Org unit code (existence is checked against the database).
    pub org_unit_code: String,
    /// Address.
    pub address: String,
    /// Owner.
    pub owner_name: Option<String>,
    /// Phone.
    pub phone: Option<String>,
    /// Latitude.
    pub latitude: Option<f64>,
    /// Longitude.
    pub longitude: Option<f64>,
}

fn required(errs: &mut Vec<FieldError>, field: &str, v: &str, max: usize) -> String {
    let v = nfc(v);
    if v.is_empty() {
        errs.push(FieldError::new(field, "is required"));
    } else if v.chars().count() > max {
        errs.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    v
}

fn optional(
    errs: &mut Vec<FieldError>,
    field: &str,
    v: &Option<String>,
    max: usize,
) -> Option<String> {
    let v = v.as_deref().map(nfc).filter(|s| !s.is_empty())?;
    if v.chars().count() > max {
        errs.push(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    Some(v)
}

impl EstablishmentInput {
    /// Checks every field, returning all problems at once.
    pub fn parse(&self) -> Result<EstablishmentFields, Vec<FieldError>> {
        let mut errs = Vec::new();
        let licence_no = required(&mut errs, "licence_no", &self.licence_no, 64);
        let name = required(&mut errs, "name", &self.name, 200);
        let business_type = self.business_type.trim().to_string();
        if !BUSINESS_TYPES.contains(&business_type.as_str()) {
            errs.push(FieldError::new(
                "business_type",
                format!("must be one of {}", BUSINESS_TYPES.join(", ")),
            ));
        }
        let org_unit_code = required(&mut errs, "org_unit_code", &self.org_unit_code, 16);
        let address = required(&mut errs, "address", &self.address, 300);
        let owner_name = optional(&mut errs, "owner_name", &self.owner_name, 200);
        let phone = optional(&mut errs, "phone", &self.phone, 32);
        if let Some(p) = &phone {
            if !p
                .chars()
                .all(|c| c.is_ascii_digit() || " +-().".contains(c))
            {
                errs.push(FieldError::new(
                    "phone",
                    "may hold only digits, spaces and + - ( ) .",
                ));
            }
        }
        match (self.latitude, self.longitude) {
            (Some(_), None) => errs.push(FieldError::new("longitude", "is required with latitude")),
            (None, Some(_)) => errs.push(FieldError::new("latitude", "is required with longitude")),
            _ => {}
        }
        if let Some(lat) = self.latitude {
            if !(-90.0..=90.0).contains(&lat) || !lat.is_finite() {
                errs.push(FieldError::new("latitude", "must be between -90 and 90"));
            }
        }
        if let Some(lon) = self.longitude {
            if !(-180.0..=180.0).contains(&lon) || !lon.is_finite() {
                errs.push(FieldError::new("longitude", "must be between -180 and 180"));
            }
        }
        if !errs.is_empty() {
            return Err(errs);
        }
        Ok(EstablishmentFields {
            name_fold: fold(&name),
            licence_no,
            name,
            business_type,
            org_unit_code,
            address,
            owner_name,
            phone,
            latitude: self.latitude,
            longitude: self.longitude,
        })
    }
}

/// Why a licence number held by another establishment is refused: the same
/// words whether that establishment is in the caller's area or not, so that
/// the answer confirms only what uniqueness makes unavoidable.
pub fn licence_unavailable(licence: &str) -> String {
    format!("licence_no {licence} is not available")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> EstablishmentInput {
        EstablishmentInput {
            licence_no: " 37-0001 ".into(),
            name: "Karaoke Hoàng Gia".into(),
            business_type: "karaoke".into(),
            org_unit_code: "14362".into(),
            address: "Số 1, Nho Quan".into(),
            ..Default::default()
        }
    }

    #[test]
    fn parses_and_normalises() {
        let f = valid().parse().unwrap();
        assert_eq!(f.licence_no, "37-0001");
        assert_eq!(f.name_fold, "karaoke hoang gia");
    }

    #[test]
    fn reports_every_bad_field() {
        let mut i = valid();
        i.business_type = "casino".into();
        i.name = " ".into();
        i.latitude = Some(91.0);
        let errs = i.parse().unwrap_err();
        let fields: Vec<_> = errs.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec!["name", "business_type", "longitude", "latitude"]
        );
    }
}
