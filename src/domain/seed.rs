//! How a real plan's seed is fixed so that no single party can steer its draw
//! (docs/draw.md §12): the seed is a hash of the **frozen input's digest**
//! (the draw input with the seed left at 32 zero bytes) and of values that
//! are fixed only after that input, so nobody can try seeds against a known
//! input. Pure functions: the use cases in `app::plans` call them.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::domain::draw::{self, DrawInput};

/// The default: a server value drawn from the OS at draw time, after the
/// input is read. It trusts the operator of the server.
pub const SERVER_RANDOM: &str = "server_random";
/// A public random value named in the plan before the draw (e.g. a named
/// day's lottery special prize), with a server value committed beforehand.
pub const PUBLIC_BEACON: &str = "public_beacon";
/// Rehearsals only: the caller's seed.
pub const CALLER: &str = "caller";
/// Plans made before the seed procedure was recorded.
pub const UNRECORDED: &str = "unrecorded";

/// The 32 zero bytes that stand for the seed in the frozen input.
pub const ZERO_SEED: [u8; 32] = [0; 32];

/// The public random value a `public_beacon` plan names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Beacon {
    /// What it is, e.g. "Xổ số kiến thiết miền Bắc, giải đặc biệt".
    pub source: String,
    /// The day it is published (`YYYY-MM-DD`): the input is frozen before it.
    pub date: String,
    /// The value, once published (given with the draw).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

/// The public record of how a plan's seed was fixed: enough for anyone to
/// recompute the seed ([`derive_seed`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SeedRecord {
    /// [`SERVER_RANDOM`], [`PUBLIC_BEACON`], [`CALLER`] or [`UNRECORDED`].
    pub procedure: String,
    /// Whom the procedure trusts, in words.
    pub trusts: String,
    /// When the round-1 input was frozen (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen_at: Option<String>,
    /// SHA-256 of the canonical round-1 input with the seed at zero bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frozen_digest: Option<String>,
    /// SHA-256 of the server value's 32 bytes, published before the value.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_commitment: Option<String>,
    /// The server value (64 hex digits), published with the draw.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server_value: Option<String>,
    /// The public value ([`PUBLIC_BEACON`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub beacon: Option<Beacon>,
    /// The caller's seed ([`CALLER`], rehearsals only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caller_seed: Option<String>,
}

impl SeedRecord {
    /// A fresh record for `procedure`, with whom it trusts.
    pub fn new(procedure: &str) -> Self {
        let trusts = match procedure {
            SERVER_RANDOM => {
                "the operator of the server: it draws the server value after the input is frozen"
            }
            PUBLIC_BEACON => {
                "no single party: the input is frozen and the server value committed before the public value is published"
            }
            CALLER => "the caller (a rehearsal: it never reaches a team)",
            _ => "nothing was recorded: the seed may have been chosen",
        };
        SeedRecord {
            procedure: procedure.to_string(),
            trusts: trusts.to_string(),
            ..Default::default()
        }
    }
}

fn s(out: &mut Vec<u8>, x: &str) {
    out.extend_from_slice(x.len().to_string().as_bytes());
    out.push(b':');
    out.extend_from_slice(x.as_bytes());
}

/// The input digest of `input` with its seed set to [`ZERO_SEED`].
pub fn frozen_digest(input: &DrawInput) -> String {
    if input.seed == ZERO_SEED {
        return draw::input_digest(input);
    }
    let mut frozen = input.clone();
    frozen.seed = ZERO_SEED;
    draw::input_digest(&frozen)
}

/// SHA-256 (hex) of the 32 bytes written as `value_hex`; `None` unless it is
/// 64 hex digits.
pub fn commitment(value_hex: &str) -> Option<String> {
    let bytes = hex::decode(value_hex).ok()?;
    (bytes.len() == 32).then(|| hex::encode(Sha256::digest(&bytes)))
}

/// The bytes the seed hashes (docs/draw.md §12), or `None` when the record
/// lacks a part its procedure needs.
pub fn seed_text(rec: &SeedRecord) -> Option<Vec<u8>> {
    let frozen = rec.frozen_digest.as_deref()?;
    let server = rec.server_value.as_deref()?;
    let mut out = b"kiemtra-seed-v1\n".to_vec();
    out.extend_from_slice(b"procedure ");
    s(&mut out, &rec.procedure);
    out.extend_from_slice(b"\ninput ");
    out.extend_from_slice(frozen.as_bytes());
    out.extend_from_slice(b"\nserver ");
    out.extend_from_slice(server.as_bytes());
    out.push(b'\n');
    match rec.procedure.as_str() {
        SERVER_RANDOM => {}
        PUBLIC_BEACON => {
            let b = rec.beacon.as_ref()?;
            out.extend_from_slice(b"beacon ");
            s(&mut out, &b.source);
            out.push(b' ');
            s(&mut out, &b.date);
            out.push(b' ');
            s(&mut out, b.value.as_deref()?);
            out.push(b'\n');
        }
        _ => return None,
    }
    Some(out)
}

/// The seed the record fixes: SHA-256 of [`seed_text`], or the caller's seed
/// of a rehearsal; `None` if the record is incomplete or unrecorded.
pub fn derive_seed(rec: &SeedRecord) -> Option<[u8; 32]> {
    if rec.procedure == CALLER {
        let bytes = hex::decode(rec.caller_seed.as_deref()?).ok()?;
        return bytes.try_into().ok();
    }
    Some(Sha256::digest(seed_text(rec)?).into())
}

/// SHA-256 (hex) over a round's selections in selection order: what the
/// audit log records of each draw and top-up.
pub fn selections_digest<'a>(
    items: impl IntoIterator<Item = (&'a str, &'a str, &'a str)>,
) -> String {
    let mut h = Sha256::new();
    h.update(b"kiemtra-selections-v1\n");
    for (establishment, team, level) in items {
        let mut line = b"selection ".to_vec();
        s(&mut line, establishment);
        line.push(b' ');
        s(&mut line, team);
        line.push(b' ');
        s(&mut line, level);
        line.push(b'\n');
        h.update(&line);
    }
    hex::encode(h.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::draw::{EligibleEstablishment, ShareSpec, TeamSpec};

    /// The worked example of docs/draw.md §12.
    fn example_input() -> DrawInput {
        DrawInput {
            plan_unit: "37".into(),
            shares: vec![ShareSpec {
                level: "district".into(),
                basis_points: 5000,
            }],
            stratify_by_business_type: false,
            risk_weighting: false,
            seed: ZERO_SEED,
            teams: vec![TeamSpec {
                id: "team-370".into(),
                level: "district".into(),
                jurisdiction: "370".into(),
            }],
            establishments: ["a", "b", "c", "d"]
                .iter()
                .map(|id| EligibleEstablishment {
                    id: (*id).into(),
                    unit_path: vec!["37".into(), "370".into()],
                    business_type: "karaoke".into(),
                    priority: false,
                })
                .collect(),
            existing: vec![],
        }
    }

    #[test]
    fn worked_example_matches_docs() {
        let mut input = example_input();
        let frozen = frozen_digest(&input);
        let server = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
        let mut rec = SeedRecord::new(PUBLIC_BEACON);
        rec.frozen_digest = Some(frozen.clone());
        rec.server_commitment = commitment(server);
        rec.server_value = Some(server.into());
        rec.beacon = Some(Beacon {
            source: "XSKT mien Bac, giai dac biet".into(),
            date: "2016-06-20".into(),
            value: Some("12345".into()),
        });
        let text = seed_text(&rec).unwrap();
        let seed = derive_seed(&rec).unwrap();
        input.seed = seed;
        println!("seed {}", hex::encode(seed));
        println!("digest {}", draw::input_digest(&input));
        // These values are printed in docs/draw.md §12.4 (they depend on the
        // canonical input of §8: if that changes, update both).
        assert_eq!(
            frozen,
            "a4de098007b9f660e5a16aa0bdd4c095c03e48fa6376dfeab7241cceddf9d5b5"
        );
        assert_eq!(
            rec.server_commitment.as_deref(),
            Some("4773d12e2371bb935b9a0f5439b4a1c3ad3f2414b86980f8418d1cfabdfadfef")
        );
        assert_eq!(
            String::from_utf8(text).unwrap(),
            "kiemtra-seed-v1\nprocedure 13:public_beacon\n\
             input a4de098007b9f660e5a16aa0bdd4c095c03e48fa6376dfeab7241cceddf9d5b5\n\
             server 00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff\n\
             beacon 28:XSKT mien Bac, giai dac biet 10:2016-06-20 5:12345\n"
        );
        assert_eq!(
            hex::encode(seed),
            "6595be8e51bdab988f1f5515bd57958ba772ec26e528c71a55e6ade93620b522"
        );
        assert_eq!(
            draw::input_digest(&input),
            "57b5e85752068df1e6ace5df7c377b1cdfe7bc938e988753d91f44b0db474374"
        );
    }

    #[test]
    fn every_part_of_the_record_moves_the_seed() {
        let mut rec = SeedRecord::new(PUBLIC_BEACON);
        rec.frozen_digest = Some("ab".repeat(32));
        rec.server_value = Some("cd".repeat(32));
        rec.beacon = Some(Beacon {
            source: "x".into(),
            date: "2026-12-05".into(),
            value: Some("1".into()),
        });
        let base = derive_seed(&rec).unwrap();
        let mut r = rec.clone();
        r.frozen_digest = Some("ac".repeat(32));
        assert_ne!(derive_seed(&r).unwrap(), base);
        let mut r = rec.clone();
        r.server_value = Some("ce".repeat(32));
        assert_ne!(derive_seed(&r).unwrap(), base);
        let mut r = rec.clone();
        r.beacon.as_mut().unwrap().value = Some("2".into());
        assert_ne!(derive_seed(&r).unwrap(), base);
        let mut r = rec.clone();
        r.beacon.as_mut().unwrap().value = None;
        assert_eq!(derive_seed(&r), None);
        let mut r = rec.clone();
        r.procedure = UNRECORDED.into();
        assert_eq!(derive_seed(&r), None);
    }

    #[test]
    fn selections_digest_depends_on_order() {
        let a = selections_digest([("e1", "t", "district"), ("e2", "t", "district")]);
        let b = selections_digest([("e2", "t", "district"), ("e1", "t", "district")]);
        assert_ne!(a, b);
    }
}
