//! The administrative tree as an import file gives it: reading the org-unit
//! CSV (`code,name,level,parent_code`), checking each row and its parent,
//! and the `/a/b/c/` path of every unit. Pure: the stored tree comes in as
//! a map.

use std::collections::{BTreeMap, HashMap};

use crate::domain::imports::RowError;
use crate::domain::level_rank;
use crate::domain::text::{nfc, NUL_MESSAGE};
use crate::error::{ApiError, FieldError};

/// One unit of the tree, without its path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unit {
    /// Name.
    pub name: String,
    /// province, district or commune.
    pub level: String,
    /// Parent's code (none for a province).
    pub parent: Option<String>,
}

/// Valid rows of a file by code, with their row numbers.
pub type Incoming = BTreeMap<String, (usize, Unit)>;

/// Reads an org-unit CSV: a header naming an unknown column, or lacking one
/// of `code,name,level`, is a 422; each row is then checked on its own
/// (valid rows by code, invalid ones as row errors).
pub fn read_units_csv(csv_text: &[u8]) -> Result<(Incoming, Vec<RowError>), ApiError> {
    if csv_text.contains(&0) {
        return Err(ApiError::field("body", NUL_MESSAGE));
    }
    let mut rdr = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(csv_text);
    let headers = rdr
        .headers()
        .map_err(|e| ApiError::field("body", format!("cannot read the CSV header: {e}")))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim_start_matches('\u{feff}') == name)
    };
    // Like the establishment import: a column the import does not know is
    // an error, not silently dropped data.
    let unknown: Vec<FieldError> = headers
        .iter()
        .map(|h| h.trim_start_matches('\u{feff}'))
        .filter(|h| !["code", "name", "level", "parent_code"].contains(h))
        .take(4)
        .map(|h| FieldError::new(h, "unknown column; expected code,name,level,parent_code"))
        .collect();
    if !unknown.is_empty() {
        return Err(ApiError::Validation(unknown));
    }
    let (Some(c_code), Some(c_name), Some(c_level)) = (col("code"), col("name"), col("level"))
    else {
        return Err(ApiError::field(
            "body",
            "the header must name the columns code,name,level,parent_code",
        ));
    };
    let c_parent = col("parent_code");
    let mut errors = Vec::new();
    let mut incoming = Incoming::new();
    for (i, rec) in rdr.records().enumerate() {
        let row = i + 2;
        let rec = match rec {
            Ok(r) => r,
            Err(e) => {
                errors.push(RowError {
                    row,
                    field: None,
                    message: format!("unreadable row: {e}"),
                });
                continue;
            }
        };
        let get = |c: usize| rec.get(c).unwrap_or("").to_string();
        let err = |field: &str, message: String| RowError {
            row,
            field: Some(field.into()),
            message,
        };
        let code = get(c_code);
        let name = nfc(&get(c_name));
        let level = get(c_level);
        let parent = c_parent.map(get).filter(|p| !p.is_empty());
        if code.is_empty() || code.len() > 16 || !code.chars().all(|c| c.is_ascii_alphanumeric()) {
            errors.push(err("code", "must be 1 to 16 letters or digits".into()));
            continue;
        }
        if name.is_empty() {
            errors.push(err("name", "is required".into()));
            continue;
        }
        let Some(rank) = level_rank(&level) else {
            errors.push(err("level", "must be province, district or commune".into()));
            continue;
        };
        if rank == 0 && parent.is_some() {
            errors.push(err("parent_code", "a province has no parent".into()));
            continue;
        }
        if rank > 0 && parent.is_none() {
            errors.push(err("parent_code", format!("a {level} needs a parent")));
            continue;
        }
        if incoming.contains_key(&code) {
            errors.push(err(
                "code",
                format!("code {code} appears twice in the file"),
            ));
            continue;
        }
        incoming.insert(
            code,
            (
                row,
                Unit {
                    name,
                    level,
                    parent,
                },
            ),
        );
    }
    Ok((incoming, errors))
}

/// Drops rows whose parent neither is stored (`existing`) nor valid in the
/// file, or does not rank above them, until every parent holds (a child of a
/// rejected row is rejected too); reports each dropped row into `errors`.
pub fn drop_orphans(
    incoming: &mut Incoming,
    existing: &HashMap<String, Unit>,
    errors: &mut Vec<RowError>,
) {
    loop {
        let mut bad = Vec::new();
        for (code, (row, u)) in incoming.iter() {
            let Some(p) = &u.parent else { continue };
            let parent_level = incoming
                .get(p)
                .map(|(_, pu)| pu.level.as_str())
                .or_else(|| {
                    // A stored parent counts unless the file itself rejected its new version.
                    existing.get(p).map(|eu| eu.level.as_str())
                });
            let msg = match parent_level {
                None => Some(format!("parent {p} does not exist")),
                Some(pl) if level_rank(pl) >= level_rank(&u.level) => {
                    Some(format!("parent {p} is a {pl}, not above a {}", u.level))
                }
                _ => None,
            };
            if let Some(m) = msg {
                bad.push((code.clone(), *row, m));
            }
        }
        if bad.is_empty() {
            return;
        }
        for (code, row, message) in bad {
            incoming.remove(&code);
            errors.push(RowError {
                row,
                field: Some("parent_code".into()),
                message,
            });
        }
    }
}

/// `/a/b/c/` paths for every unit of a tree. Parents rank strictly above
/// their children (checked on import), so there is no cycle to follow.
pub fn compute_paths(units: &HashMap<String, Unit>) -> HashMap<String, String> {
    let mut out: HashMap<String, String> = HashMap::with_capacity(units.len());
    for start in units.keys() {
        // Walk up to the root or to a unit whose path is known already.
        let mut chain = Vec::new();
        let mut base = String::from("/");
        let mut cur = Some(start.clone());
        while let Some(c) = cur {
            if let Some(known) = out.get(&c) {
                base = known.clone();
                break;
            }
            cur = units
                .get(&c)
                .and_then(|u| u.parent.clone())
                .filter(|p| units.contains_key(p));
            chain.push(c);
        }
        for c in chain.into_iter().rev() {
            base = format!("{base}{c}/");
            out.insert(c, base.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn u(parent: Option<&str>) -> Unit {
        Unit {
            name: "x".into(),
            level: "district".into(),
            parent: parent.map(str::to_string),
        }
    }

    #[test]
    fn paths_follow_parents() {
        let mut m = HashMap::new();
        m.insert("37".to_string(), u(None));
        m.insert("372".to_string(), u(Some("37")));
        m.insert("14362".to_string(), u(Some("372")));
        let p = compute_paths(&m);
        assert_eq!(p["14362"], "/37/372/14362/");
        assert_eq!(p["372"], "/37/372/");
        assert_eq!(p["37"], "/37/");
    }
}
