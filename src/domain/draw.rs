//! The inspection draw: a pure, verifiable, seeded random assignment of
//! eligible establishments to the inspection teams of a plan.
//!
//! [`draw`] is a pure function of a [`DrawInput`] (plan parameters, the
//! eligible establishments, the teams, a recorded 32-byte seed and, for a
//! top-up, the assignments that already exist). Anyone holding the same input
//! recomputes the same assignments; [`input_digest`] fingerprints that input.
//! No `rand`, no floating point and no hash-map iteration order takes part in
//! the result: randomness comes only from SHA-256 of the seed with the
//! establishment id (the order inside a stratum) or with the team, cell and
//! class (the random start of a systematic rounding).
//!
//! Version 2 (the current [`Algorithm`]) gives every establishment of a
//! team's jurisdiction that is not forced in the same chance of being drawn by
//! that team, however small its stratum: the quotas are split over cells and
//! strata by *systematic rounding* with a seeded random start, never by a
//! fixed rounding. Version 1 is kept only to verify rounds recorded with it
//! ([`recompute`]).
//!
//! The algorithm, the digest serialisation and worked examples are specified
//! byte for byte in `docs/draw.md` (version 1 in `docs/draw-v1.md`); the
//! worked examples are pinned by unit tests below, so the pages and the code
//! cannot drift apart.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One share of a plan: a team level and its percentage in basis points (10% = 1000).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ShareSpec {
    /// Team level this share applies to (e.g. `"province"`, `"district"`).
    pub level: String,
    /// Share of the team's eligible establishments, in basis points (1% = 100).
    pub basis_points: u32,
}

/// A team that can receive assignments.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamSpec {
    /// Team id (opaque text, compared byte-wise).
    pub id: String,
    /// Team level; must equal a [`ShareSpec::level`] for the team to draw.
    pub level: String,
    /// Org-unit code of the team's jurisdiction.
    pub jurisdiction: String,
}

/// An establishment eligible at draw time.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EligibleEstablishment {
    /// UUID text, lowercase hyphenated.
    pub id: String,
    /// Org-unit codes from the root down to its own unit, e.g.
    /// `["37","372","14362"]` (2024) or `["37","14362"]` (2025).
    pub unit_path: Vec<String>,
    /// Business type (stratum key when stratifying).
    pub business_type: String,
    /// Violation in the previous 12 months or flagged for re-inspection.
    pub priority: bool,
}

/// An assignment that already exists and stays (used by top-up).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExistingAssignment {
    /// The assigned establishment.
    pub establishment_id: String,
    /// The team it is assigned to.
    pub team_id: String,
}

/// Everything the draw depends on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawInput {
    /// The plan's org unit code (e.g. province `"37"`).
    pub plan_unit: String,
    /// Shares by team level, processed in this order.
    pub shares: Vec<ShareSpec>,
    /// Allocate each cell's quota over business types.
    pub stratify_by_business_type: bool,
    /// Priority establishments come first inside every stratum.
    pub risk_weighting: bool,
    /// The recorded seed.
    pub seed: [u8; 32],
    /// Teams (any order; the draw sorts them).
    pub teams: Vec<TeamSpec>,
    /// Eligible establishments (any order; the draw sorts them).
    pub establishments: Vec<EligibleEstablishment>,
    /// Assignments that already exist; empty for a first draw.
    pub existing: Vec<ExistingAssignment>,
}

/// One new assignment made by the draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Selection {
    /// The selected establishment.
    pub establishment_id: String,
    /// The team it is assigned to.
    pub team_id: String,
    /// The team's level.
    pub level: String,
}

/// A team's quota and how far it is met.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TeamQuota {
    /// The team.
    pub team_id: String,
    /// The team's jurisdiction.
    pub org_unit_code: String,
    /// The team's level.
    pub level: String,
    /// Eligible establishments in the jurisdiction (assigned or not).
    pub eligible: u64,
    /// `ceil(basis_points × eligible / 10000)`.
    pub quota: u64,
    /// Existing assignments of the team inside its jurisdiction + new selections.
    pub assigned: u64,
}

/// The result of a draw.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DrawOutput {
    /// New selections only, by team processing order, then group order.
    pub selections: Vec<Selection>,
    /// One row per drawing team, in team processing order.
    pub quotas: Vec<TeamQuota>,
}

/// Basis points from a percent given with at most 2 decimals (`12.5` → `1250`).
///
/// `None` if `p` is not finite, negative, above 100, or has more than two
/// decimals (i.e. is not the `f64` nearest to some `k / 100`).
pub fn percent_to_basis_points(p: f64) -> Option<u32> {
    if !p.is_finite() || !(0.0..=100.0).contains(&p) {
        return None;
    }
    let bp = (p * 100.0).round();
    // Exact: `bp / 100.0` is the f64 nearest to k/100, which is what a decimal
    // literal with at most two decimals parses to.
    #[allow(clippy::float_cmp)]
    let exact = bp / 100.0 == p;
    if exact {
        Some(bp as u32)
    } else {
        None
    }
}

/// The random key of an establishment: the first 16 bytes of
/// `SHA-256(seed || id as UTF-8)`, read as a big-endian `u128`.
pub fn establishment_key(seed: &[u8; 32], id: &str) -> u128 {
    let mut h = Sha256::new();
    h.update(seed);
    h.update(id.as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    u128::from_be_bytes(b)
}

/// Team quota: `ceil(basis_points × eligible / 10000)` in integer arithmetic
/// (saturating at `u64::MAX`).
pub fn team_quota(basis_points: u32, eligible: u64) -> u64 {
    let q = (u128::from(basis_points) * u128::from(eligible)).div_ceil(10_000);
    u64::try_from(q).unwrap_or(u64::MAX)
}

/// Largest remainder (version 1 only): split `total` over items in
/// proportion to `weights`, a fixed rounding.
///
/// Items are given in tie-break order (ascending code). With `W = Σ weights`,
/// item `i` gets `floor(total·w_i / W)`; the `total − Σ floors` leftover units
/// go one each to the items with the largest remainder `total·w_i mod W`, ties
/// to the earlier item. All zeros if `W == 0`.
pub fn largest_remainder(total: u64, weights: &[u64]) -> Vec<u64> {
    let w_sum: u128 = weights.iter().map(|&w| u128::from(w)).sum();
    if w_sum == 0 {
        return vec![0; weights.len()];
    }
    let mut out = Vec::with_capacity(weights.len());
    let mut rems = Vec::with_capacity(weights.len());
    let mut given: u128 = 0;
    for (i, &w) in weights.iter().enumerate() {
        let num = u128::from(total) * u128::from(w);
        let fl = num / w_sum;
        given += fl;
        out.push(fl as u64);
        rems.push((num % w_sum, i));
    }
    let leftover = (u128::from(total) - given) as usize;
    if leftover > 0 {
        // Larger remainder first; equal remainders keep the earlier item first.
        rems.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for &(_, i) in rems.iter().take(leftover) {
            out[i] += 1;
        }
    }
    out
}

/// Capped allocation (version 1 only): split `total` over items in
/// proportion to `weights` without giving any item more than `caps[i]`.
///
/// Rounds: the items still below their cap ("open") share the remaining
/// amount by [`largest_remainder`] on their weights; each item receives
/// `min(share, cap − given)`; what could not be placed is shared again among
/// the items still open. Stops when nothing remains or no item is open, so it
/// places `min(total, Σ caps)` (items with a cap > 0 must have a weight > 0).
pub fn capped_allocation(total: u64, weights: &[u64], caps: &[u64]) -> Vec<u64> {
    let n = weights.len();
    let mut x = vec![0u64; n];
    let mut remaining = total;
    while remaining > 0 {
        let open: Vec<usize> = (0..n).filter(|&i| x[i] < caps[i]).collect();
        if open.is_empty() {
            break;
        }
        let w: Vec<u64> = open.iter().map(|&i| weights[i]).collect();
        let share = largest_remainder(remaining, &w);
        let mut placed = 0u64;
        for (k, &i) in open.iter().enumerate() {
            let give = share[k].min(caps[i] - x[i]);
            x[i] += give;
            placed += give;
        }
        if placed == 0 {
            break; // only if every open item has weight 0 (caller error)
        }
        remaining -= placed;
    }
    x
}

/// Systematic rounding: split `total` over items of sizes `sizes` (given in
/// tie-break order) with the random start `v` (`0 ≤ v < M`, `M = Σ sizes`).
///
/// With `C_i` the cumulative sizes (`C_0 = 0`), item `i` gets
/// `floor((total·C_i + v) / M) − floor((total·C_{i−1} + v) / M)`. This is
/// systematic sampling with a random start over the items laid end to end:
/// the shares sum to `total`, each is `floor` or `ceil` of
/// `total·size_i / M`, and over the `M` starts item `i` gets on average
/// exactly `total·size_i / M`. Requires `total ≤ M`; all zeros if `M = 0`.
pub fn systematic_rounding(total: u64, sizes: &[u64], v: u64) -> Vec<u64> {
    let m: u128 = sizes.iter().map(|&s| u128::from(s)).sum();
    if m == 0 {
        return vec![0; sizes.len()];
    }
    let (t, v) = (u128::from(total), u128::from(v));
    let mut cum = 0u128;
    let mut before = v / m;
    sizes
        .iter()
        .map(|&s| {
            cum += u128::from(s);
            let upto = (t * cum + v) / m;
            let share = upto - before;
            before = upto;
            share as u64
        })
        .collect()
}

/// The random start of one systematic rounding of team `team_id`: over its
/// cells (`cell = None`) or over the strata of one cell (`Some(code)`), for
/// the forced class or the other class. The first 16 bytes, big-endian, of
/// the SHA-256 of `seed || 0xFF || "cells" SP S(team_id) SP class SP
/// D(existing)` or `seed || 0xFF || "strata" SP S(team_id) SP S(cell) SP class
/// SP D(existing)`, where `class` is `forced` or `other` and `existing` is the
/// number of entries of [`DrawInput::existing`] (docs/draw.md §4). The byte
/// 0xFF never occurs in UTF-8, so no start collides with an
/// [`establishment_key`].
pub fn random_start(
    seed: &[u8; 32],
    existing: u64,
    team_id: &str,
    cell: Option<&str>,
    forced: bool,
) -> u128 {
    fn field(h: &mut Sha256, s: &str) {
        h.update(s.len().to_string().as_bytes());
        h.update(b":");
        h.update(s.as_bytes());
    }
    let mut h = Sha256::new();
    h.update(seed);
    h.update([0xFF]);
    match cell {
        None => {
            h.update(b"cells ");
            field(&mut h, team_id);
        }
        Some(c) => {
            h.update(b"strata ");
            field(&mut h, team_id);
            h.update(b" ");
            field(&mut h, c);
        }
    }
    h.update(if forced {
        &b" forced "[..]
    } else {
        &b" other "[..]
    });
    h.update(existing.to_string().as_bytes());
    let d = h.finalize();
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    u128::from_be_bytes(b)
}

/// The version of the draw algorithm. Each version has its own digest header
/// (`kiemtra-draw-input-v1`, `…-v2`), so a recorded round's digest tells
/// which version drew it ([`recompute`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Algorithm {
    /// Per-stratum targets by largest remainder (a fixed rounding: the sole
    /// member of a small stratum could never be drawn). `docs/draw-v1.md`;
    /// kept only to verify rounds recorded with it.
    V1,
    /// Equal chances: systematic rounding with seeded random starts, forced
    /// (priority) establishments first. `docs/draw.md`.
    V2,
}

impl Algorithm {
    /// The version new rounds are drawn with.
    pub const CURRENT: Algorithm = Algorithm::V2;

    /// The first line of the canonical serialisation.
    fn header(self) -> &'static [u8] {
        match self {
            Algorithm::V1 => b"kiemtra-draw-input-v1\n",
            Algorithm::V2 => b"kiemtra-draw-input-v2\n",
        }
    }
}

/// What a random start is drawn for (see [`random_start`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Start<'a> {
    /// A team's picks of one class, over its cells.
    Cells { team: &'a str, forced: bool },
    /// A cell's picks of one class, over its strata.
    Strata {
        team: &'a str,
        cell: &'a str,
        forced: bool,
    },
}

/// [`systematic_rounding`] of `total` over `sizes`, asking `start` for a
/// start in `[0, M)` only when the result depends on it (two or more items
/// of positive size and `0 < total < M`).
fn split(total: u64, sizes: &[u64], start: impl FnOnce(u64) -> u64) -> Vec<u64> {
    let m: u64 = sizes.iter().sum();
    let total = total.min(m);
    let open = sizes.iter().filter(|&&s| s > 0).count();
    if total == 0 || total == m || open < 2 {
        return systematic_rounding(total, sizes, 0);
    }
    let v = start(m);
    debug_assert!(v < m);
    systematic_rounding(total, sizes, v)
}

/// One stratum of one cell of one team.
#[derive(Clone, Copy)]
struct Bucket {
    cell: u32,
    stratum: u32,
    /// Its members (ranks, ascending) are `members[start..start + len]`.
    start: usize,
    len: u64,
    /// Members not yet taken when the team starts (version 2: of the other
    /// class only).
    avail: u64,
    /// Version 2: forced members not yet taken when the team starts.
    avail_forced: u64,
    /// Members already assigned to this team in `existing`.
    own: u64,
    /// New selections to make here (version 2: of the other class).
    take: u64,
    /// Version 2: new selections of forced members to make here.
    take_forced: u64,
}

/// A small, fast, deterministic hasher (FxHash) for the draw's internal maps.
/// Map iteration order never reaches the output; only lookups are used.
#[derive(Default, Clone, Copy)]
struct FxHasher(u64);

impl FxHasher {
    fn add(&mut self, w: u64) {
        self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            self.add(u64::from_le_bytes(c.try_into().expect("8 bytes")));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut b = [0u8; 8];
            b[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(b));
        }
    }
    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }
    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }
    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }
    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }
    fn finish(&self) -> u64 {
        self.0
    }
}

type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// The cell of an establishment for the plan-unit team: the path element
/// right after the first `plan_unit`, or `plan_unit` itself if it is last.
fn plan_cell_code<'a>(path: &'a [String], plan_unit: &'a str) -> Option<&'a str> {
    let i = path.iter().position(|c| c == plan_unit)?;
    Some(path.get(i + 1).map_or(plan_unit, String::as_str))
}

/// The draw: a pure function of its input, by the current algorithm
/// ([`Algorithm::CURRENT`]). See `docs/draw.md`.
pub fn draw(input: &DrawInput) -> DrawOutput {
    draw_with(input, Algorithm::CURRENT)
}

/// The draw by a given version of the algorithm (version 1 only to recompute
/// rounds recorded with it).
pub fn draw_with(input: &DrawInput, algorithm: Algorithm) -> DrawOutput {
    let seed = input.seed;
    let existing = input.existing.len() as u64;
    draw_core(
        input,
        algorithm,
        &|id: &str| establishment_key(&seed, id),
        &mut |start: Start, m: u64| {
            let u = match start {
                Start::Cells { team, forced } => random_start(&seed, existing, team, None, forced),
                Start::Strata { team, cell, forced } => {
                    random_start(&seed, existing, team, Some(cell), forced)
                }
            };
            (u % u128::from(m)) as u64
        },
    )
}

/// For verification: the version whose digest of `input` is
/// `recorded_digest`, and that version's draw; `None` if no version's digest
/// matches (the input is not the one recorded).
pub fn recompute(input: &DrawInput, recorded_digest: &str) -> Option<(Algorithm, DrawOutput)> {
    [Algorithm::V2, Algorithm::V1]
        .into_iter()
        .find(|&a| input_digest_with(input, a) == recorded_digest)
        .map(|a| (a, draw_with(input, a)))
}

/// The draw with its randomness passed in: `key` orders the establishments
/// (the establishment key), `start` gives the start in `[0, M)` of a
/// systematic rounding over `M` members. [`draw_with`] passes the seeded
/// SHA-256 ones; the exact-probability tests pass every key order and start.
fn draw_core(
    input: &DrawInput,
    algorithm: Algorithm,
    key: &(dyn Fn(&str) -> u128 + Sync),
    start: &mut dyn FnMut(Start, u64) -> u64,
) -> DrawOutput {
    let srcs = &input.establishments;
    let v2 = algorithm == Algorithm::V2;

    // --- Normalise teams: keep those whose level has a share. --------------
    let level_pos = |level: &str| input.shares.iter().position(|s| s.level == level);
    let mut teams: Vec<(usize, &TeamSpec)> = input
        .teams
        .iter()
        .filter_map(|t| level_pos(&t.level).map(|p| (p, t)))
        .collect();
    teams.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.id.cmp(&b.1.id))
            .then_with(|| a.1.jurisdiction.cmp(&b.1.jurisdiction))
    });
    let mut seen = HashSet::new();
    teams.retain(|(_, t)| seen.insert(t.id.as_str()));
    let team_index: FxMap<&str, u32> = teams
        .iter()
        .enumerate()
        .map(|(i, (_, t))| (t.id.as_str(), i as u32))
        .collect();
    let mut jurisdictions: FxMap<&str, u32> = FxMap::default();
    for (_, t) in &teams {
        let next = jurisdictions.len() as u32;
        jurisdictions.entry(t.jurisdiction.as_str()).or_insert(next);
    }

    // --- Per establishment, in input order: key, priority, interned business
    // type and plan cell, and the team jurisdictions on its path.
    let scan = scan_establishments(input, key, &jurisdictions, scan_threads(srcs.len()));
    let mut keyed: Vec<(u128, u32)> = scan
        .keys
        .iter()
        .enumerate()
        .map(|(i, &k)| (k, i as u32))
        .collect();

    // --- Group order. Sorting by (key, full establishment order) puts equal
    // ids next to each other (equal id => equal key); the first of each id is
    // kept. With risk weighting a stable partition then puts priority ones
    // first. From here on an establishment is known by its rank.
    keyed.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| cmp_establishment(&srcs[a.1 as usize], &srcs[b.1 as usize]))
    });
    keyed.dedup_by(|later, earlier| {
        later.0 == earlier.0 && srcs[later.1 as usize].id == srcs[earlier.1 as usize].id
    });
    let mut order: Vec<u32> = Vec::with_capacity(keyed.len());
    if input.risk_weighting {
        order.extend(
            keyed
                .iter()
                .filter(|k| scan.priority[k.1 as usize])
                .map(|k| k.1),
        );
        order.extend(
            keyed
                .iter()
                .filter(|k| !scan.priority[k.1 as usize])
                .map(|k| k.1),
        );
    } else {
        order.extend(keyed.iter().map(|k| k.1));
    }
    drop(keyed);
    let n = order.len();
    let btype: Vec<u32> = order.iter().map(|&i| scan.btype[i as usize]).collect();
    let plan_cell: Vec<u32> = order.iter().map(|&i| scan.cell[i as usize]).collect();
    // Version 2: priority establishments (with risk weighting) are forced in.
    let forced: Vec<bool> = order
        .iter()
        .map(|&i| v2 && input.risk_weighting && scan.priority[i as usize])
        .collect();

    // --- Index by jurisdiction: ranks ascending. ---------------------------
    let mut by_juris: Vec<Vec<u32>> = vec![Vec::new(); jurisdictions.len()];
    for (r, &i) in order.iter().enumerate() {
        let (a, b) = (scan.juris_off[i as usize], scan.juris_off[i as usize + 1]);
        for &jid in &scan.juris_flat[a as usize..b as usize] {
            by_juris[jid as usize].push(r as u32);
        }
    }

    // --- Existing assignments: taken; owner = listed team, if any. ---------
    const NO_TEAM: u32 = u32::MAX;
    let mut taken = vec![false; n];
    let mut owner = vec![NO_TEAM; n];
    if !input.existing.is_empty() {
        let by_id: FxMap<&str, usize> = order
            .iter()
            .enumerate()
            .map(|(r, &i)| (srcs[i as usize].id.as_str(), r))
            .collect();
        let mut existing: Vec<&ExistingAssignment> = input.existing.iter().collect();
        existing.sort_by(|a, b| {
            a.establishment_id
                .cmp(&b.establishment_id)
                .then_with(|| a.team_id.cmp(&b.team_id))
        });
        existing.dedup_by(|later, earlier| later.establishment_id == earlier.establishment_id);
        for a in existing {
            if let Some(&r) = by_id.get(a.establishment_id.as_str()) {
                taken[r] = true;
                owner[r] = team_index
                    .get(a.team_id.as_str())
                    .copied()
                    .unwrap_or(NO_TEAM);
            }
        }
    }

    // --- Teams in order. ----------------------------------------------------
    let mut picks: Vec<(u32, u32)> = Vec::new(); // (team, rank)
    let mut quotas = Vec::with_capacity(teams.len());
    for (ti, &(pos, team)) in teams.iter().enumerate() {
        let ti = ti as u32;
        let bp = input.shares[pos].basis_points;
        let eligible = &by_juris[jurisdictions[team.jurisdiction.as_str()] as usize];
        let is_plan = team.jurisdiction == input.plan_unit;

        // Buckets = (cell, stratum); members in rank order, laid out in one
        // array by counting sort.
        let mut slot: FxMap<u64, u32> = FxMap::default();
        let mut buckets: Vec<Bucket> = Vec::new();
        let mut bucket_of: Vec<u32> = Vec::with_capacity(eligible.len());
        for &r in eligible {
            let cell = if is_plan { plan_cell[r as usize] } else { 0 };
            let stratum = if input.stratify_by_business_type {
                btype[r as usize]
            } else {
                0
            };
            let b = *slot
                .entry(u64::from(cell) << 32 | u64::from(stratum))
                .or_insert_with(|| {
                    buckets.push(Bucket {
                        cell,
                        stratum,
                        start: 0,
                        len: 0,
                        avail: 0,
                        avail_forced: 0,
                        own: 0,
                        take: 0,
                        take_forced: 0,
                    });
                    (buckets.len() - 1) as u32
                });
            bucket_of.push(b);
            let b = &mut buckets[b as usize];
            b.len += 1;
            if !taken[r as usize] {
                if forced[r as usize] {
                    b.avail_forced += 1;
                } else {
                    b.avail += 1;
                }
            } else if owner[r as usize] == ti {
                b.own += 1;
            }
        }
        let mut sorted: Vec<u32> = (0..buckets.len() as u32).collect();
        sorted.sort_unstable_by_key(|&b| (buckets[b as usize].cell, buckets[b as usize].stratum));
        let mut cursor = vec![0usize; buckets.len()];
        let mut next = 0usize;
        for &b in &sorted {
            buckets[b as usize].start = next;
            cursor[b as usize] = next;
            next += buckets[b as usize].len as usize;
        }
        let mut members = vec![0u32; eligible.len()];
        for (&r, &b) in eligible.iter().zip(&bucket_of) {
            members[cursor[b as usize]] = r;
            cursor[b as usize] += 1;
        }
        let mut buckets: Vec<Bucket> = sorted.iter().map(|&b| buckets[b as usize]).collect();
        // Cell ranges over the sorted buckets.
        let mut ranges: Vec<(usize, usize)> = Vec::new();
        for (k, b) in buckets.iter().enumerate() {
            match ranges.last_mut() {
                Some(r) if buckets[r.0].cell == b.cell => r.1 = k + 1,
                _ => ranges.push((k, k + 1)),
            }
        }

        let n_total = eligible.len() as u64;
        let quota = team_quota(bp, n_total);
        let own_total: u64 = buckets.iter().map(|b| b.own).sum();
        if v2 {
            // Version 2: the team's need, forced members first, each class
            // split over cells and then strata by systematic rounding.
            let need = quota.saturating_sub(own_total);
            let forced_avail: u64 = buckets.iter().map(|b| b.avail_forced).sum();
            let other_avail: u64 = buckets.iter().map(|b| b.avail).sum();
            let take_forced = need.min(forced_avail);
            let take_other = (need - take_forced).min(other_avail);
            for (class_forced, total) in [(true, take_forced), (false, take_other)] {
                if total == 0 {
                    continue;
                }
                let size = |b: &Bucket| {
                    if class_forced {
                        b.avail_forced
                    } else {
                        b.avail
                    }
                };
                let cell_m: Vec<u64> = ranges
                    .iter()
                    .map(|&(s, e)| buckets[s..e].iter().map(size).sum())
                    .collect();
                let team_id = team.id.as_str();
                let per_cell = split(total, &cell_m, |m| {
                    start(
                        Start::Cells {
                            team: team_id,
                            forced: class_forced,
                        },
                        m,
                    )
                });
                for (&(s, e), x) in ranges.iter().zip(per_cell) {
                    if x == 0 {
                        continue;
                    }
                    let cell = if is_plan {
                        scan.cell_names[buckets[s].cell as usize]
                    } else {
                        team.jurisdiction.as_str()
                    };
                    let sizes: Vec<u64> = buckets[s..e].iter().map(size).collect();
                    let per_stratum = split(x, &sizes, |m| {
                        start(
                            Start::Strata {
                                team: team_id,
                                cell,
                                forced: class_forced,
                            },
                            m,
                        )
                    });
                    for (b, y) in buckets[s..e].iter_mut().zip(per_stratum) {
                        if class_forced {
                            b.take_forced = y;
                        } else {
                            b.take = y;
                        }
                    }
                }
            }
        } else {
            // Version 1 (docs/draw-v1.md): per-stratum targets by largest
            // remainder, deficits, then capacity steps 2 and 3.
            let cell_n: Vec<u64> = ranges
                .iter()
                .map(|&(s, e)| buckets[s..e].iter().map(|b| b.len).sum())
                .collect();
            let cell_target = largest_remainder(quota, &cell_n);

            for (c, &(s, e)) in ranges.iter().enumerate() {
                let bs = &mut buckets[s..e];
                let n: Vec<u64> = bs.iter().map(|b| b.len).collect();
                let target = largest_remainder(cell_target[c], &n);
                // Step 1: each stratum's deficit, as far as it has room.
                for (b, &t) in bs.iter_mut().zip(&target) {
                    b.take = t.saturating_sub(b.own).min(b.avail);
                }
                // Step 2: the cell's remaining deficit to its other strata.
                let have: u64 = bs.iter().map(|b| b.own + b.take).sum();
                let short = cell_target[c].saturating_sub(have);
                if short > 0 {
                    let caps: Vec<u64> = bs.iter().map(|b| b.avail - b.take).collect();
                    let add = capped_allocation(short, &n, &caps);
                    for (b, a) in bs.iter_mut().zip(add) {
                        b.take += a;
                    }
                }
            }
            // Step 3: complete the team's quota over cells with room.
            let have: u64 = own_total + buckets.iter().map(|b| b.take).sum::<u64>();
            let rest = quota.saturating_sub(have);
            if rest > 0 {
                let room: Vec<u64> = ranges
                    .iter()
                    .map(|&(s, e)| buckets[s..e].iter().map(|b| b.avail - b.take).sum())
                    .collect();
                let per_cell = capped_allocation(rest, &cell_n, &room);
                for (&(s, e), r) in ranges.iter().zip(per_cell) {
                    if r == 0 {
                        continue;
                    }
                    let bs = &mut buckets[s..e];
                    let n: Vec<u64> = bs.iter().map(|b| b.len).collect();
                    let caps: Vec<u64> = bs.iter().map(|b| b.avail - b.take).collect();
                    let add = capped_allocation(r, &n, &caps);
                    for (b, a) in bs.iter_mut().zip(add) {
                        b.take += a;
                    }
                }
            }
        }

        // Pick: in each stratum the first `take_forced` forced members and
        // the first `take` others (version 1: the first `take`) not yet taken.
        let mut picked: Vec<u32> = Vec::new();
        for b in &buckets {
            let (mut left_forced, mut left) = (b.take_forced, b.take);
            for &r in &members[b.start..b.start + b.len as usize] {
                if left == 0 && left_forced == 0 {
                    break;
                }
                if taken[r as usize] {
                    continue;
                }
                let left = if forced[r as usize] {
                    &mut left_forced
                } else {
                    &mut left
                };
                if *left > 0 {
                    taken[r as usize] = true;
                    picked.push(r);
                    *left -= 1;
                }
            }
        }
        picked.sort_unstable();
        quotas.push(TeamQuota {
            team_id: team.id.clone(),
            org_unit_code: team.jurisdiction.clone(),
            level: team.level.clone(),
            eligible: n_total,
            quota,
            assigned: own_total + picked.len() as u64,
        });
        picks.extend(picked.into_iter().map(|r| (ti, r)));
    }
    // Building the output strings is the costliest part of a large draw
    // (one allocation per string): large outputs are built on several
    // threads, chunk by chunk, and concatenated in order.
    let make = |picks: &[(u32, u32)]| -> Vec<Selection> {
        picks
            .iter()
            .map(|&(ti, r)| {
                let team = teams[ti as usize].1;
                Selection {
                    establishment_id: srcs[order[r as usize] as usize].id.clone(),
                    team_id: team.id.clone(),
                    level: team.level.clone(),
                }
            })
            .collect()
    };
    let threads = scan_threads(picks.len());
    let selections = if threads < 2 {
        make(&picks)
    } else {
        let chunk = picks.len().div_ceil(threads);
        let parts: Vec<Vec<Selection>> = std::thread::scope(|scope| {
            let handles: Vec<_> = picks
                .chunks(chunk)
                .map(|c| scope.spawn(move || make(c)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("output thread"))
                .collect()
        });
        let mut all = Vec::with_capacity(picks.len());
        for p in parts {
            all.extend(p);
        }
        all
    };
    DrawOutput { selections, quotas }
}

/// What the draw needs of each establishment, in input order.
#[derive(Debug, PartialEq)]
struct Scan<'a> {
    keys: Vec<u128>,
    priority: Vec<bool>,
    /// Interned business type (ids follow the byte order of the names).
    btype: Vec<u32>,
    /// Interned plan cell (ids follow the byte order of the codes);
    /// `u32::MAX` if the plan unit is not on the path.
    cell: Vec<u32>,
    /// The plan cells' codes, by id.
    cell_names: Vec<&'a str>,
    /// Jurisdiction ids on the path of `i`: `juris_flat[juris_off[i]..juris_off[i + 1]]`.
    juris_off: Vec<u32>,
    juris_flat: Vec<u32>,
}

/// Names in first-seen order and, per item, the index of its name.
struct Interned<'a> {
    names: Vec<&'a str>,
    ids: Vec<u32>,
}

impl<'a> Interned<'a> {
    fn new<I: Iterator<Item = Option<&'a str>>>(items: I) -> Self {
        let mut map: FxMap<&str, u32> = FxMap::default();
        let mut names: Vec<&str> = Vec::new();
        let ids = items
            .map(|n| {
                n.map_or(u32::MAX, |s| {
                    *map.entry(s).or_insert_with(|| {
                        names.push(s);
                        (names.len() - 1) as u32
                    })
                })
            })
            .collect();
        Interned { names, ids }
    }
}

/// Concatenates per-chunk interned ids, renumbered to the rank of each name
/// among all distinct names (byte order); and those names, by id.
fn merge_interned<'a>(parts: &[&Interned<'a>]) -> (Vec<u32>, Vec<&'a str>) {
    let mut all: Vec<&str> = parts.iter().flat_map(|p| p.names.iter().copied()).collect();
    all.sort_unstable();
    all.dedup();
    let mut out = Vec::with_capacity(parts.iter().map(|p| p.ids.len()).sum());
    for p in parts {
        let rank: Vec<u32> = p
            .names
            .iter()
            .map(|n| all.binary_search(n).expect("merged") as u32)
            .collect();
        out.extend(
            p.ids
                .iter()
                .map(|&i| if i == u32::MAX { i } else { rank[i as usize] }),
        );
    }
    (out, all)
}

/// Whether [`draw`] would use more than one thread on `input` (only large
/// inputs do): callers keep such a draw out of their transactions.
pub fn uses_threads(input: &DrawInput) -> bool {
    scan_threads(input.establishments.len()) > 1
}

/// Threads for a pass over `n` items (establishment scan, output strings):
/// one below 20,000 items. The result never depends on it.
fn scan_threads(n: usize) -> usize {
    if n < 20_000 {
        1
    } else {
        std::thread::available_parallelism().map_or(1, |t| t.get().min(8))
    }
}

/// One pass over the establishments, split over `threads` scoped threads
/// (the result does not depend on the split).
fn scan_establishments<'a>(
    input: &'a DrawInput,
    key: &(dyn Fn(&str) -> u128 + Sync),
    jurisdictions: &FxMap<&str, u32>,
    threads: usize,
) -> Scan<'a> {
    struct Part<'a> {
        keys: Vec<u128>,
        priority: Vec<bool>,
        btype: Interned<'a>,
        cell: Interned<'a>,
        juris_len: Vec<u32>,
        juris_flat: Vec<u32>,
    }
    let part = |srcs: &'a [EligibleEstablishment]| -> Part<'a> {
        let mut juris_len = Vec::with_capacity(srcs.len());
        let mut juris_flat = Vec::with_capacity(srcs.len() * 2);
        for e in srcs {
            let before = juris_flat.len();
            let path = &e.unit_path;
            for (j, code) in path.iter().enumerate() {
                if let Some(&jid) = jurisdictions.get(code.as_str()) {
                    if !path[..j].contains(code) {
                        juris_flat.push(jid);
                    }
                }
            }
            juris_len.push((juris_flat.len() - before) as u32);
        }
        Part {
            keys: srcs.iter().map(|e| key(&e.id)).collect(),
            priority: srcs.iter().map(|e| e.priority).collect(),
            btype: Interned::new(srcs.iter().map(|e| Some(e.business_type.as_str()))),
            cell: Interned::new(
                srcs.iter()
                    .map(|e| plan_cell_code(&e.unit_path, &input.plan_unit)),
            ),
            juris_len,
            juris_flat,
        }
    };
    let srcs = &input.establishments[..];
    let parts: Vec<Part> = if threads < 2 || srcs.len() < 2 {
        vec![part(srcs)]
    } else {
        let chunk = srcs.len().div_ceil(threads);
        std::thread::scope(|scope| {
            let handles: Vec<_> = srcs
                .chunks(chunk)
                .map(|c| scope.spawn(move || part(c)))
                .collect();
            handles
                .into_iter()
                .map(|h| h.join().expect("scan thread"))
                .collect()
        })
    };
    let mut juris_off = Vec::with_capacity(srcs.len() + 1);
    juris_off.push(0u32);
    let mut total = 0u32;
    for p in &parts {
        for &l in &p.juris_len {
            total += l;
            juris_off.push(total);
        }
    }
    let (cell, cell_names) = merge_interned(&parts.iter().map(|p| &p.cell).collect::<Vec<_>>());
    Scan {
        keys: parts.iter().flat_map(|p| p.keys.iter().copied()).collect(),
        priority: parts
            .iter()
            .flat_map(|p| p.priority.iter().copied())
            .collect(),
        btype: merge_interned(&parts.iter().map(|p| &p.btype).collect::<Vec<_>>()).0,
        cell,
        cell_names,
        juris_off,
        juris_flat: parts.into_iter().flat_map(|p| p.juris_flat).collect(),
    }
}

/// Total order on establishments: id, unit_path (element-wise, then length),
/// business_type (all byte order), priority (false first).
fn cmp_establishment(a: &EligibleEstablishment, b: &EligibleEstablishment) -> std::cmp::Ordering {
    a.id.as_bytes()
        .cmp(b.id.as_bytes())
        .then_with(|| {
            let pa = a.unit_path.iter().map(|s| s.as_bytes());
            let pb = b.unit_path.iter().map(|s| s.as_bytes());
            pa.cmp(pb)
        })
        .then_with(|| a.business_type.as_bytes().cmp(b.business_type.as_bytes()))
        .then(a.priority.cmp(&b.priority))
}

/// The first 16 bytes of `id`, zero-padded, big-endian: if two ids' prefixes
/// differ, they order the ids as byte order does.
fn id_prefix(id: &str) -> u128 {
    let mut b = [0u8; 16];
    let n = id.len().min(16);
    b[..n].copy_from_slice(&id.as_bytes()[..n]);
    u128::from_be_bytes(b)
}

/// Streams the canonical serialisation, in 64 KiB pieces, into `sink`
/// (SHA-256 for [`input_digest`], a vector for [`canonical_input`]).
struct CanonicalWriter<F: FnMut(&[u8])> {
    sink: F,
    buf: Vec<u8>,
}

impl<F: FnMut(&[u8])> CanonicalWriter<F> {
    fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= 1 << 16 {
            (self.sink)(&self.buf);
            self.buf.clear();
        }
    }
    /// A string field: decimal UTF-8 byte length, `:`, the bytes.
    fn field(&mut self, s: &str) {
        self.num(s.len() as u64);
        self.raw(b":");
        self.raw(s.as_bytes());
    }
    fn sp(&mut self) {
        self.raw(b" ");
    }
    fn nl(&mut self) {
        self.raw(b"\n");
    }
    /// Decimal, no sign, no leading zeros.
    fn num(&mut self, mut n: u64) {
        let mut digits = [0u8; 20];
        let mut i = digits.len();
        loop {
            i -= 1;
            digits[i] = b'0' + (n % 10) as u8;
            n /= 10;
            if n == 0 {
                break;
            }
        }
        self.raw(&digits[i..]);
    }
    fn finish(mut self) {
        (self.sink)(&self.buf);
    }
}

/// SHA-256 (lowercase hex) of the canonical serialisation of the input for
/// the current algorithm (documented byte for byte in `docs/draw.md`; its
/// first line names the algorithm version). Independent of the order of
/// `teams`, `establishments` and `existing`; `shares` order counts.
pub fn input_digest(input: &DrawInput) -> String {
    input_digest_with(input, Algorithm::CURRENT)
}

/// [`input_digest`] with the header of a given algorithm version.
pub fn input_digest_with(input: &DrawInput, algorithm: Algorithm) -> String {
    let mut hasher = Sha256::new();
    write_canonical(input, algorithm, |b| hasher.update(b));
    hex::encode(hasher.finalize())
}

/// The canonical serialisation that [`input_digest`] hashes (see
/// `docs/draw.md`); useful to archive or diff a draw's input.
pub fn canonical_input(input: &DrawInput) -> Vec<u8> {
    let mut out = Vec::new();
    write_canonical(input, Algorithm::CURRENT, |b| out.extend_from_slice(b));
    out
}

/// [`canonical_input`] under the header of the version whose digest of
/// `input` is `recorded_digest` (the current version if none matches).
pub fn canonical_input_for(input: &DrawInput, recorded_digest: &str) -> Vec<u8> {
    let algorithm = [Algorithm::V2, Algorithm::V1]
        .into_iter()
        .find(|&a| input_digest_with(input, a) == recorded_digest)
        .unwrap_or(Algorithm::CURRENT);
    let mut out = Vec::new();
    write_canonical(input, algorithm, |b| out.extend_from_slice(b));
    out
}

fn write_canonical(input: &DrawInput, algorithm: Algorithm, sink: impl FnMut(&[u8])) {
    let mut w = CanonicalWriter {
        sink,
        buf: Vec::with_capacity(1 << 16),
    };
    w.raw(algorithm.header());
    w.raw(b"plan_unit ");
    w.field(&input.plan_unit);
    w.nl();
    w.raw(b"shares ");
    w.num(input.shares.len() as u64);
    w.nl();
    for s in &input.shares {
        w.raw(b"share ");
        w.field(&s.level);
        w.sp();
        w.num(u64::from(s.basis_points));
        w.nl();
    }
    w.raw(b"stratify_by_business_type ");
    w.raw(if input.stratify_by_business_type {
        b"1"
    } else {
        b"0"
    });
    w.nl();
    w.raw(b"risk_weighting ");
    w.raw(if input.risk_weighting { b"1" } else { b"0" });
    w.nl();
    w.raw(b"seed ");
    w.raw(hex::encode(input.seed).as_bytes());
    w.nl();

    let mut teams: Vec<&TeamSpec> = input.teams.iter().collect();
    teams.sort_by(|a, b| {
        a.id.as_bytes()
            .cmp(b.id.as_bytes())
            .then_with(|| a.level.as_bytes().cmp(b.level.as_bytes()))
            .then_with(|| a.jurisdiction.as_bytes().cmp(b.jurisdiction.as_bytes()))
    });
    w.raw(b"teams ");
    w.num(teams.len() as u64);
    w.nl();
    for t in teams {
        w.raw(b"team ");
        w.field(&t.id);
        w.sp();
        w.field(&t.level);
        w.sp();
        w.field(&t.jurisdiction);
        w.nl();
    }

    // Sorted by (id, unit_path, business_type, priority); the 16-byte id
    // prefix only speeds the sort up (it orders like the full id or ties).
    let mut ests: Vec<(u128, &EligibleEstablishment)> = input
        .establishments
        .iter()
        .map(|e| (id_prefix(&e.id), e))
        .collect();
    ests.sort_unstable_by(|a, b| a.0.cmp(&b.0).then_with(|| cmp_establishment(a.1, b.1)));
    let ests = ests.into_iter().map(|(_, e)| e);
    w.raw(b"establishments ");
    w.num(input.establishments.len() as u64);
    w.nl();
    for e in ests {
        w.raw(b"establishment ");
        w.field(&e.id);
        w.sp();
        w.field(&e.business_type);
        w.sp();
        w.raw(if e.priority { b"1" } else { b"0" });
        w.sp();
        w.num(e.unit_path.len() as u64);
        for c in &e.unit_path {
            w.sp();
            w.field(c);
        }
        w.nl();
    }

    let mut existing: Vec<&ExistingAssignment> = input.existing.iter().collect();
    existing.sort_by(|a, b| {
        a.establishment_id
            .as_bytes()
            .cmp(b.establishment_id.as_bytes())
            .then_with(|| a.team_id.as_bytes().cmp(b.team_id.as_bytes()))
    });
    w.raw(b"existing ");
    w.num(existing.len() as u64);
    w.nl();
    for a in existing {
        w.raw(b"assignment ");
        w.field(&a.establishment_id);
        w.sp();
        w.field(&a.team_id);
        w.nl();
    }
    w.finish();
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::{BTreeMap, HashMap, HashSet};

    // ---------------------------------------------------------------- helpers

    fn est(id: &str, path: &[&str], btype: &str, priority: bool) -> EligibleEstablishment {
        EligibleEstablishment {
            id: id.to_string(),
            unit_path: path.iter().map(|s| s.to_string()).collect(),
            business_type: btype.to_string(),
            priority,
        }
    }

    fn team(id: &str, level: &str, jurisdiction: &str) -> TeamSpec {
        TeamSpec {
            id: id.to_string(),
            level: level.to_string(),
            jurisdiction: jurisdiction.to_string(),
        }
    }

    fn share(level: &str, basis_points: u32) -> ShareSpec {
        ShareSpec {
            level: level.to_string(),
            basis_points,
        }
    }

    /// A UUID-looking id whose byte order differs from `i`'s order.
    fn uuid_for(i: u64, salt: &str) -> String {
        let mut h = Sha256::new();
        h.update(salt.as_bytes());
        h.update(i.to_be_bytes());
        let d = hex::encode(&h.finalize()[..16]);
        format!(
            "{}-{}-4{}-8{}-{}",
            &d[0..8],
            &d[8..12],
            &d[13..16],
            &d[17..20],
            &d[20..32]
        )
    }

    fn seed_from(n: u64) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(b"test-seed");
        h.update(n.to_be_bytes());
        h.finalize().into()
    }

    fn count_by_team(out: &DrawOutput) -> HashMap<&str, u64> {
        let mut m = HashMap::new();
        for s in &out.selections {
            *m.entry(s.team_id.as_str()).or_insert(0) += 1;
        }
        m
    }

    fn quota_of<'a>(out: &'a DrawOutput, team_id: &str) -> &'a TeamQuota {
        out.quotas
            .iter()
            .find(|q| q.team_id == team_id)
            .unwrap_or_else(|| panic!("no quota row for {team_id}"))
    }

    /// Selections of one team, per cell code (child of the plan unit).
    fn per_cell(input: &DrawInput, out: &DrawOutput, team_id: &str) -> BTreeMap<String, u64> {
        let by_id: HashMap<&str, &EligibleEstablishment> = input
            .establishments
            .iter()
            .map(|e| (e.id.as_str(), e))
            .collect();
        let mut m = BTreeMap::new();
        for s in out.selections.iter().filter(|s| s.team_id == team_id) {
            let e = by_id[s.establishment_id.as_str()];
            let cell = plan_cell_code(&e.unit_path, &input.plan_unit).unwrap();
            *m.entry(cell.to_string()).or_insert(0) += 1;
        }
        m
    }

    /// Checks every property that must hold for any input; `first` = empty
    /// `existing`.
    fn check_invariants(input: &DrawInput, out: &DrawOutput) {
        let first = input.existing.is_empty();
        let by_id: HashMap<&str, &EligibleEstablishment> = input
            .establishments
            .iter()
            .map(|e| (e.id.as_str(), e))
            .collect();
        let existing_ids: HashSet<&str> = input
            .existing
            .iter()
            .map(|a| a.establishment_id.as_str())
            .collect();
        let teams: HashMap<&str, &TeamSpec> =
            input.teams.iter().map(|t| (t.id.as_str(), t)).collect();

        // Disjoint, never an existing one, always inside the jurisdiction.
        let mut seen = HashSet::new();
        for s in &out.selections {
            assert!(
                seen.insert(s.establishment_id.as_str()),
                "{} selected twice",
                s.establishment_id
            );
            assert!(!existing_ids.contains(s.establishment_id.as_str()));
            let e = by_id[s.establishment_id.as_str()];
            let t = teams[s.team_id.as_str()];
            assert!(e.unit_path.contains(&t.jurisdiction));
            assert_eq!(s.level, t.level);
        }

        // Quota rows: brute-force eligible, ceil quota, assigned count, and
        // "quota missed only if the jurisdiction is exhausted".
        let counts = count_by_team(out);
        let mut taken: HashSet<&str> = existing_ids
            .iter()
            .copied()
            .filter(|id| by_id.contains_key(id))
            .collect();
        let mut total_assigned = 0;
        for q in &out.quotas {
            let t = teams[q.team_id.as_str()];
            let bp = input
                .shares
                .iter()
                .find(|s| s.level == t.level)
                .unwrap()
                .basis_points as u64;
            let elig: Vec<&str> = input
                .establishments
                .iter()
                .filter(|e| e.unit_path.contains(&t.jurisdiction))
                .map(|e| e.id.as_str())
                .collect();
            assert_eq!(q.eligible, elig.len() as u64);
            assert_eq!(q.quota, (bp * q.eligible).div_ceil(10_000));
            let own_existing = input
                .existing
                .iter()
                .filter(|a| a.team_id == t.id && elig.contains(&a.establishment_id.as_str()))
                .count() as u64;
            let new = counts.get(t.id.as_str()).copied().unwrap_or(0);
            assert_eq!(q.assigned, own_existing + new);
            total_assigned += q.assigned;
            for s in out.selections.iter().filter(|s| s.team_id == t.id) {
                taken.insert(s.establishment_id.as_str());
            }
            if q.assigned < q.quota {
                assert!(
                    elig.iter().all(|id| taken.contains(id)),
                    "team {} missed its quota with room left",
                    t.id
                );
            }
            if first {
                assert!(q.assigned <= q.quota, "first draw overshoots {}", t.id);
            }
        }
        assert!(total_assigned <= input.establishments.len() as u64);

        // Quota rows in processing order: share position, then id.
        let pos = |l: &str| input.shares.iter().position(|s| s.level == l).unwrap();
        for w in out.quotas.windows(2) {
            assert!((pos(&w[0].level), &w[0].team_id) < (pos(&w[1].level), &w[1].team_id));
        }
    }

    /// The spread of systematic rounding, for the first team if it is the
    /// plan-unit team of a first draw: in each class (forced, other) its
    /// picks in a cell are within 1 of `class picks × n_c / n` and in a
    /// stratum within 1 of `cell picks × n_s / n_c` (n: the class's members).
    fn check_spread(input: &DrawInput, out: &DrawOutput) {
        let Some(q) = out.quotas.first() else { return };
        if q.org_unit_code != input.plan_unit || !input.existing.is_empty() {
            return;
        }
        let picked: HashSet<&str> = out
            .selections
            .iter()
            .filter(|s| s.team_id == q.team_id)
            .map(|s| s.establishment_id.as_str())
            .collect();
        for class in [true, false] {
            // (cell, stratum) -> (members, picks)
            let mut n: BTreeMap<(String, String), (i128, i128)> = BTreeMap::new();
            for e in &input.establishments {
                if (input.risk_weighting && e.priority) != class {
                    continue;
                }
                let c = plan_cell_code(&e.unit_path, &input.plan_unit).unwrap();
                let st = if input.stratify_by_business_type {
                    e.business_type.clone()
                } else {
                    String::new()
                };
                let slot = n.entry((c.to_string(), st)).or_insert((0, 0));
                slot.0 += 1;
                slot.1 += i128::from(picked.contains(e.id.as_str()));
            }
            let mut cells: BTreeMap<&str, (i128, i128)> = BTreeMap::new();
            for ((c, _), &(m, x)) in &n {
                let slot = cells.entry(c.as_str()).or_insert((0, 0));
                slot.0 += m;
                slot.1 += x;
            }
            let total_m: i128 = cells.values().map(|v| v.0).sum();
            let total_x: i128 = cells.values().map(|v| v.1).sum();
            for (c, &(m, x)) in &cells {
                assert!(
                    (x * total_m - total_x * m).abs() < total_m,
                    "cell {c}: {x} of {total_x} (n_c {m}, n {total_m})"
                );
            }
            for ((c, st), &(m, x)) in &n {
                let (mc, xc) = cells[c.as_str()];
                assert!((x * mc - xc * m).abs() < mc, "stratum {c}/{st}");
            }
        }
    }

    // ------------------------------------------------------------ generator

    /// (district 0..4, commune 0..3, attach 0 province / 1 district / 2+ commune, type, priority)
    type Row = (u8, u8, u8, u8, bool);

    fn build_input(
        rows: &[Row],
        shape_2025: bool,
        p_bp: u32,
        l_bp: u32,
        stratify: bool,
        risk: bool,
        seed: [u8; 32],
    ) -> DrawInput {
        const TYPES: [&str; 3] = ["karaoke", "massage", "hotel"];
        let mut establishments = Vec::new();
        for (i, &(d, c, attach, ty, pr)) in rows.iter().enumerate() {
            let district = format!("3{}", 70 + d);
            let commune = format!("14{}{}", 70 + d, c);
            let path: Vec<String> = match (shape_2025, attach) {
                (_, 0) => vec!["37".into()],
                (false, 1) => vec!["37".into(), district],
                (false, _) => vec!["37".into(), district, commune],
                (true, _) => vec!["37".into(), commune],
            };
            establishments.push(EligibleEstablishment {
                id: uuid_for(i as u64, "reg"),
                unit_path: path,
                business_type: TYPES[ty as usize % 3].into(),
                priority: pr,
            });
        }
        let lower = if shape_2025 { "commune" } else { "district" };
        let mut teams = vec![team("P", "province", "37"), team("W", "ward", "371")];
        for d in 0..4u8 {
            if shape_2025 {
                for c in 0..3u8 {
                    let code = format!("14{}{}", 70 + d, c);
                    teams.push(team(&format!("C{code}"), lower, &code));
                }
            } else {
                let code = format!("3{}", 70 + d);
                teams.push(team(&format!("D{code}"), lower, &code));
            }
        }
        DrawInput {
            plan_unit: "37".into(),
            shares: vec![share("province", p_bp), share(lower, l_bp)],
            stratify_by_business_type: stratify,
            risk_weighting: risk,
            seed,
            teams,
            establishments,
            existing: vec![],
        }
    }

    fn rows_strategy(max: usize) -> impl Strategy<Value = Vec<Row>> {
        prop::collection::vec(
            (0u8..4, 0u8..3, 0u8..8, 0u8..3, prop::bool::weighted(0.2)),
            0..max,
        )
    }

    fn input_strategy() -> impl Strategy<Value = DrawInput> {
        (
            rows_strategy(80),
            any::<bool>(),
            0u32..=3000,
            0u32..=6000,
            any::<bool>(),
            any::<bool>(),
            any::<[u8; 32]>(),
        )
            .prop_map(|(rows, s25, p, l, st, r, seed)| build_input(&rows, s25, p, l, st, r, seed))
    }

    /// Deterministic shuffle of a vector by a salt.
    fn shuffled<T: Clone>(v: &[T], salt: u64) -> Vec<T> {
        let mut idx: Vec<(u128, usize)> = (0..v.len())
            .map(|i| {
                let mut h = Sha256::new();
                h.update(salt.to_be_bytes());
                h.update((i as u64).to_be_bytes());
                let d = h.finalize();
                (u128::from_be_bytes(d[..16].try_into().unwrap()), i)
            })
            .collect();
        idx.sort();
        idx.into_iter().map(|(_, i)| v[i].clone()).collect()
    }

    // ----------------------------------------------------------- unit tests

    #[test]
    fn percent_conversion() {
        assert_eq!(percent_to_basis_points(10.0), Some(1000));
        assert_eq!(percent_to_basis_points(40.0), Some(4000));
        assert_eq!(percent_to_basis_points(12.5), Some(1250));
        assert_eq!(percent_to_basis_points(0.01), Some(1));
        assert_eq!(percent_to_basis_points(10.1), Some(1010));
        assert_eq!(percent_to_basis_points(33.33), Some(3333));
        assert_eq!(percent_to_basis_points(0.0), Some(0));
        assert_eq!(percent_to_basis_points(100.0), Some(10_000));
        assert_eq!(percent_to_basis_points(100.01), None);
        assert_eq!(percent_to_basis_points(-0.5), None);
        assert_eq!(percent_to_basis_points(12.345), None);
        assert_eq!(percent_to_basis_points(0.001), None);
        assert_eq!(percent_to_basis_points(f64::NAN), None);
        assert_eq!(percent_to_basis_points(f64::INFINITY), None);
    }

    #[test]
    fn quota_is_ceiling() {
        assert_eq!(team_quota(1000, 45), 5); // 4.5 -> 5
        assert_eq!(team_quota(4000, 25), 10); // exact
        assert_eq!(team_quota(4000, 12), 5); // 4.8 -> 5
        assert_eq!(team_quota(4000, 8), 4); // 3.2 -> 4
        assert_eq!(team_quota(1, 1), 1);
        assert_eq!(team_quota(0, 100), 0);
        assert_eq!(team_quota(1000, 0), 0);
    }

    #[test]
    fn largest_remainder_by_hand() {
        // 5 over 25:12:8 (n = 45): 125/45 = 2 r35, 60/45 = 1 r15, 40/45 = 0 r40;
        // 2 left over go to r40 then r35.
        assert_eq!(largest_remainder(5, &[25, 12, 8]), vec![3, 1, 1]);
        // Equal remainders: earlier item (smaller code) first.
        assert_eq!(largest_remainder(1, &[1, 1]), vec![1, 0]);
        assert_eq!(largest_remainder(3, &[1, 1, 1, 1]), vec![1, 1, 1, 0]);
        assert_eq!(largest_remainder(0, &[3, 4]), vec![0, 0]);
        assert_eq!(largest_remainder(7, &[0, 0]), vec![0, 0]);
        assert_eq!(largest_remainder(7, &[0, 2]), vec![0, 7]);
    }

    #[test]
    fn capped_allocation_by_hand() {
        // 6 over weights 1:1:1, caps 1,5,5: round 1 gives 2,2,2 -> 1,2,2 (1 left);
        // round 2 over items 1 and 2: 1 -> item 1 (tie, earlier).
        assert_eq!(capped_allocation(6, &[1, 1, 1], &[1, 5, 5]), vec![1, 3, 2]);
        // Not enough room: everything is filled.
        assert_eq!(capped_allocation(10, &[2, 3], &[1, 2]), vec![1, 2]);
        assert_eq!(capped_allocation(0, &[2, 3], &[1, 2]), vec![0, 0]);
    }

    /// Province 37 with 3 districts of 25, 12 and 8 establishments; 10% / 40%.
    fn three_districts() -> DrawInput {
        let mut establishments = Vec::new();
        for (d, n) in [("371", 25), ("372", 12), ("373", 8)] {
            for i in 0..n {
                establishments.push(est(
                    &uuid_for(i, d),
                    &["37", d, &format!("{d}0{}", i % 3)],
                    if i % 2 == 0 { "karaoke" } else { "massage" },
                    false,
                ));
            }
        }
        DrawInput {
            plan_unit: "37".into(),
            shares: vec![share("province", 1000), share("district", 4000)],
            stratify_by_business_type: false,
            risk_weighting: false,
            seed: seed_from(1),
            teams: vec![
                team("d373", "district", "373"),
                team("prov", "province", "37"),
                team("d371", "district", "371"),
                team("d372", "district", "372"),
            ],
            establishments,
            existing: vec![],
        }
    }

    #[test]
    fn three_districts_quotas_and_spread() {
        let input = three_districts();
        let out = draw(&input);
        check_invariants(&input, &out);
        let rows: Vec<(&str, u64, u64, u64)> = out
            .quotas
            .iter()
            .map(|q| (q.team_id.as_str(), q.eligible, q.quota, q.assigned))
            .collect();
        // ceil(10% × 45) = 5; ceil(40% × 25) = 10; ceil(40% × 12) = 5; ceil(40% × 8) = 4.
        assert_eq!(
            rows,
            vec![
                ("prov", 45, 5, 5),
                ("d371", 25, 10, 10),
                ("d372", 12, 5, 5),
                ("d373", 8, 4, 4),
            ]
        );
        // Province spread 5 over 25:12:8 by systematic rounding: 2.78, 1.33
        // and 0.89 rounded at random, so 2 or 3, 1 or 2, 0 or 1, summing to 5
        // (check_spread); over seeds each rounding occurs (v1: always 3, 1, 1).
        check_spread(&input, &out);
        let mut seen = HashSet::new();
        for s in 0..60 {
            let mut input = three_districts();
            input.seed = seed_from(100 + s);
            let cells = per_cell(&input, &draw(&input), "prov");
            seen.insert((
                cells["371"],
                cells["372"],
                cells.get("373").copied().unwrap_or(0),
            ));
        }
        let mut seen: Vec<_> = seen.into_iter().collect();
        seen.sort();
        assert_eq!(seen, vec![(2, 2, 1), (3, 1, 1), (3, 2, 0)]);
        let v1 = per_cell(&input, &draw_with(&input, Algorithm::V1), "prov");
        assert_eq!(
            v1.into_iter().collect::<Vec<_>>(),
            vec![("371".into(), 3), ("372".into(), 1), ("373".into(), 1)]
        );
        assert_eq!(out.selections.len(), 24);
        // Selections are grouped by team in processing order.
        let order: Vec<&str> = out.selections.iter().map(|s| s.team_id.as_str()).collect();
        let mut sorted = order.clone();
        sorted.dedup();
        assert_eq!(sorted, vec!["prov", "d371", "d372", "d373"]);
    }

    #[test]
    fn stratified_spread_by_hand() {
        // One district 371 with 6 karaoke + 4 massage, another 372 with
        // 10 hotel. Province 20%: ceil(4) = 4, cells 2 / 2 (20 · 10 / 20 is
        // whole). In 371: 2 over 6:4 = 1.2 / 0.8 -> karaoke 1 or 2, massage
        // the rest. District 50%: 371 quota 5 over what the province left.
        let mut establishments = Vec::new();
        for i in 0..10 {
            let bt = if i < 6 { "karaoke" } else { "massage" };
            establishments.push(est(&uuid_for(i, "a"), &["37", "371"], bt, false));
            establishments.push(est(&uuid_for(i, "b"), &["37", "372"], "hotel", false));
        }
        let input = DrawInput {
            plan_unit: "37".into(),
            shares: vec![share("province", 2000), share("district", 5000)],
            stratify_by_business_type: true,
            risk_weighting: false,
            seed: seed_from(2),
            teams: vec![
                team("p", "province", "37"),
                team("d1", "district", "371"),
                team("d2", "district", "372"),
            ],
            establishments: establishments.clone(),
            existing: vec![],
        };
        let out = draw(&input);
        check_invariants(&input, &out);
        check_spread(&input, &out);
        let bt: HashMap<&str, &str> = establishments
            .iter()
            .map(|e| (e.id.as_str(), e.business_type.as_str()))
            .collect();
        let count = |t: &str, b: &str| {
            out.selections
                .iter()
                .filter(|s| s.team_id == t && bt[s.establishment_id.as_str()] == b)
                .count()
        };
        let pk = count("p", "karaoke");
        assert!(pk == 1 || pk == 2);
        assert_eq!(pk + count("p", "massage"), 2);
        assert_eq!(count("p", "hotel"), 2);
        // District: 5 over the 8 left, karaoke 6 - pk : massage 2 + pk.
        let (dk, dm) = (count("d1", "karaoke"), count("d1", "massage"));
        assert_eq!(dk + dm, 5);
        assert!((dk as i64 * 8 - 5 * (6 - pk as i64)).abs() < 8);
        assert_eq!(count("d2", "hotel"), 5);
    }

    #[test]
    fn stratum_shortfall_moves_to_other_strata_of_the_cell() {
        // District 371: 3 karaoke (all held by an old, unlisted team) and
        // 7 massage. 50%: quota 5, targets karaoke 2 (1.5 r, tie -> karaoke),
        // massage 3; karaoke has no room, so massage takes all 5.
        let mut establishments = Vec::new();
        let mut existing = Vec::new();
        for i in 0..10 {
            let id = uuid_for(i, "s");
            if i < 3 {
                existing.push(ExistingAssignment {
                    establishment_id: id.clone(),
                    team_id: "old".into(),
                });
            }
            let bt = if i < 3 { "karaoke" } else { "massage" };
            establishments.push(est(&id, &["37", "371"], bt, false));
        }
        let input = DrawInput {
            plan_unit: "37".into(),
            shares: vec![share("district", 5000)],
            stratify_by_business_type: true,
            risk_weighting: false,
            seed: seed_from(3),
            teams: vec![team("d1", "district", "371")],
            establishments,
            existing,
        };
        let out = draw(&input);
        check_invariants(&input, &out);
        assert_eq!(quota_of(&out, "d1").quota, 5);
        assert_eq!(quota_of(&out, "d1").assigned, 5);
        assert_eq!(out.selections.len(), 5);
    }

    #[test]
    fn stratum_shortfall_stays_in_its_cell_before_other_cells() {
        // Province team 40% of 30 = 12 over 371 (10) and 372 (20): 4 / 8.
        // 371: karaoke 3 (held by an old team) / massage 7 -> targets 1 / 3;
        // karaoke has no room, its 1 goes to massage in the same cell (4),
        // not to 372 (which would win the cell-level tie-break on size).
        let mut establishments = Vec::new();
        let mut existing = Vec::new();
        for i in 0..30 {
            let id = uuid_for(i, "k");
            let (d, bt) = match i {
                0..=2 => ("371", "karaoke"),
                3..=9 => ("371", "massage"),
                _ => ("372", "bar"),
            };
            if i < 3 {
                existing.push(ExistingAssignment {
                    establishment_id: id.clone(),
                    team_id: "old".into(),
                });
            }
            establishments.push(est(&id, &["37", d], bt, false));
        }
        let input = DrawInput {
            plan_unit: "37".into(),
            shares: vec![share("province", 4000)],
            stratify_by_business_type: true,
            risk_weighting: false,
            seed: seed_from(5),
            teams: vec![team("p", "province", "37")],
            establishments,
            existing,
        };
        let v1 = draw_with(&input, Algorithm::V1);
        let cells = per_cell(&input, &v1, "p");
        assert_eq!((cells["371"], cells["372"]), (4, 8));
        // Version 2 splits the 12 over the members with room, 7 : 20
        // (3.11 / 8.89), at random: 3 or 4 in 371, each member 12/27.
        let out = draw(&input);
        check_invariants(&input, &out);
        let cells = per_cell(&input, &out, "p");
        assert!(matches!((cells["371"], cells["372"]), (3, 9) | (4, 8)));
    }

    #[test]
    fn cell_shortfall_moves_to_other_cells_and_exhaustion_is_reported() {
        // District 371 (5 establishments) is entirely held already; 372 has 5.
        // Province 40% of 10 = 4, targets 2 / 2; 371 has no room, so 372 gets 4.
        let mut establishments = Vec::new();
        let mut existing = Vec::new();
        for i in 0..10 {
            let id = uuid_for(i, "c");
            let d = if i < 5 { "371" } else { "372" };
            if i < 5 {
                existing.push(ExistingAssignment {
                    establishment_id: id.clone(),
                    team_id: "old".into(),
                });
            }
            establishments.push(est(&id, &["37", d], "bar", false));
        }
        let mut input = DrawInput {
            plan_unit: "37".into(),
            shares: vec![share("province", 4000), share("district", 10_000)],
            stratify_by_business_type: true,
            risk_weighting: false,
            seed: seed_from(4),
            teams: vec![team("p", "province", "37"), team("d2", "district", "372")],
            establishments,
            existing,
        };
        let out = draw(&input);
        check_invariants(&input, &out);
        assert_eq!(per_cell(&input, &out, "p").get("372"), Some(&4));
        // d2 wants all 5 of 372 but only 1 is left: quota missed, reported.
        let q = quota_of(&out, "d2");
        assert_eq!((q.quota, q.assigned), (5, 1));
        // Same with a first draw and a 100% district share after a 100% province.
        input.existing.clear();
        input.shares = vec![share("province", 10_000), share("district", 10_000)];
        let out = draw(&input);
        check_invariants(&input, &out);
        assert_eq!(quota_of(&out, "p").assigned, 10);
        assert_eq!(quota_of(&out, "d2").assigned, 0);
    }

    #[test]
    fn priority_first_with_risk_weighting() {
        // 20 bars in one district, 3 priority; 10% -> quota 2: both priority.
        let mut establishments = Vec::new();
        for i in 0..20 {
            establishments.push(est(&uuid_for(i, "r"), &["37", "371"], "bar", i % 7 == 0));
        }
        let prio: HashSet<String> = establishments
            .iter()
            .filter(|e| e.priority)
            .map(|e| e.id.clone())
            .collect();
        for seed in 0..20 {
            let input = DrawInput {
                plan_unit: "37".into(),
                shares: vec![share("district", 1000)],
                stratify_by_business_type: false,
                risk_weighting: true,
                seed: seed_from(seed),
                teams: vec![team("d", "district", "371")],
                establishments: establishments.clone(),
                existing: vec![],
            };
            let out = draw(&input);
            assert_eq!(out.selections.len(), 2);
            assert!(out
                .selections
                .iter()
                .all(|s| prio.contains(&s.establishment_id)));
        }
    }

    #[test]
    fn teams_without_share_and_duplicates_are_ignored() {
        let mut input = three_districts();
        input.teams.push(team("zz", "commune", "371"));
        input.teams.push(team("d371", "district", "371")); // duplicate
        input.establishments.push(input.establishments[0].clone()); // duplicate
        let out = draw(&input);
        assert!(out.quotas.iter().all(|q| q.team_id != "zz"));
        assert_eq!(out.quotas.len(), 4);
        assert_eq!(out, draw(&three_districts()));
    }

    #[test]
    fn scan_does_not_depend_on_thread_split() {
        let mut input = three_districts();
        input.establishments[5].unit_path = vec!["99".into()]; // plan unit not on path
        input.establishments.push(input.establishments[0].clone());
        let jurisdictions: FxMap<&str, u32> =
            [("37", 0), ("372", 1), ("3710", 2)].into_iter().collect();
        let key = |id: &str| establishment_key(&input.seed, id);
        let one = scan_establishments(&input, &key, &jurisdictions, 1);
        for threads in [2, 3, 7, 100] {
            assert_eq!(
                scan_establishments(&input, &key, &jurisdictions, threads),
                one
            );
        }
        assert_eq!(one.cell[5], u32::MAX);
        assert_eq!(scan_threads(10), 1);
    }

    #[test]
    fn large_draw_on_threads_keeps_the_documented_order() {
        // 20,400 establishments and 20,400 picks: the scan and the output
        // take the multi-threaded path (on a machine with 2+ cores).
        let rows: Vec<Row> = (0..20_400u32)
            .map(|i| ((i % 4) as u8, (i % 3) as u8, 2, (i % 3) as u8, i % 11 == 0))
            .collect();
        let input = build_input(&rows, false, 5000, 10_000, true, true, seed_from(6));
        let out = draw(&input);
        check_invariants(&input, &out);
        assert_eq!(out.selections.len(), 20_400);
        let prio: HashMap<&str, bool> = input
            .establishments
            .iter()
            .map(|e| (e.id.as_str(), e.priority))
            .collect();
        let team_pos: HashMap<&str, usize> = out
            .quotas
            .iter()
            .enumerate()
            .map(|(i, q)| (q.team_id.as_str(), i))
            .collect();
        let sort_key = |s: &Selection| {
            (
                team_pos[s.team_id.as_str()],
                !prio[s.establishment_id.as_str()],
                establishment_key(&input.seed, &s.establishment_id),
            )
        };
        assert!(out
            .selections
            .windows(2)
            .all(|w| sort_key(&w[0]) < sort_key(&w[1])));
    }

    #[test]
    fn empty_input() {
        let input = build_input(&[], false, 1000, 4000, true, true, [0; 32]);
        let out = draw(&input);
        assert!(out.selections.is_empty());
        assert!(out.quotas.iter().all(|q| q.quota == 0 && q.assigned == 0));
    }

    #[test]
    fn digest_is_order_independent_and_field_sensitive() {
        let input = three_districts();
        let d = input_digest(&input);
        assert_eq!(d.len(), 64);
        let mut shuffled_input = input.clone();
        shuffled_input.establishments.reverse();
        shuffled_input.teams.reverse();
        assert_eq!(input_digest(&shuffled_input), d);
        let mut changed = input.clone();
        changed.risk_weighting = true;
        assert_ne!(input_digest(&changed), d);
        let mut changed = input.clone();
        changed.establishments[3].priority = true;
        assert_ne!(input_digest(&changed), d);
        let mut changed = input.clone();
        changed.establishments[3].unit_path.pop();
        assert_ne!(input_digest(&changed), d);
        let mut changed = input.clone();
        changed.shares.reverse();
        assert_ne!(input_digest(&changed), d);
        let mut changed = input.clone();
        changed.seed[31] ^= 1;
        assert_ne!(input_digest(&changed), d);
        let mut changed = input;
        changed.existing.push(ExistingAssignment {
            establishment_id: "x".into(),
            team_id: "y".into(),
        });
        assert_ne!(input_digest(&changed), d);
    }

    /// Province 37 over districts 371 (12 karaoke, one of them a priority,
    /// 3 massage and the only dance hall), 372 (8 bars, one a priority, and
    /// the only sauna) and 373 (5 karaoke); 10 % / 40 %, stratified, risk
    /// weighting. N = 30.
    fn sole_members() -> DrawInput {
        let mut establishments = Vec::new();
        let mut add = |d: &str, bt: &str, n: u64, priority: bool| {
            for i in 0..n {
                let id = uuid_for(i, &format!("{d}{bt}{priority}"));
                establishments.push(est(&id, &["37", d, &format!("{d}01")], bt, priority));
            }
        };
        add("371", "karaoke", 11, false);
        add("371", "karaoke", 1, true);
        add("371", "massage", 3, false);
        add("371", "dance_hall", 1, false);
        add("372", "bar", 7, false);
        add("372", "bar", 1, true);
        add("372", "sauna", 1, false);
        add("373", "karaoke", 5, false);
        DrawInput {
            plan_unit: "37".into(),
            shares: vec![share("province", 1000), share("district", 4000)],
            stratify_by_business_type: true,
            risk_weighting: true,
            seed: [0; 32],
            teams: vec![
                team("p", "province", "37"),
                team("d371", "district", "371"),
                team("d372", "district", "372"),
                team("d373", "district", "373"),
            ],
            establishments,
            existing: vec![],
        }
    }

    #[test]
    fn inclusion_frequency_matches_target() {
        // Province: quota ceil(3.0) = 3, the 2 priority forced in, the third
        // over the 28 others: 1/28 each, wherever they are. Districts, from
        // what is left: 371 quota ceil(6.4) = 7 over its 15 others (7/15),
        // 372 ceil(3.6) = 4 over 8 (1/2), 373 2 over 5 (2/5).
        let mut input = sole_members();
        let runs = 2000u64;
        let mut count: HashMap<(String, String), u64> = HashMap::new();
        for s in 0..runs {
            input.seed = seed_from(1000 + s);
            let out = draw(&input);
            assert_eq!(out.selections.len(), 3 + 7 + 4 + 2);
            for sel in out.selections {
                *count
                    .entry((sel.team_id, sel.establishment_id))
                    .or_insert(0) += 1;
            }
        }
        for e in &input.establishments {
            let (d, p_district) = match e.unit_path[1].as_str() {
                "371" => ("d371", 7.0 / 15.0),
                "372" => ("d372", 0.5),
                _ => ("d373", 0.4),
            };
            let targets = if e.priority {
                [("p", 1.0), (d, 0.0)]
            } else {
                [("p", 1.0 / 28.0), (d, p_district)]
            };
            for (t, p) in targets {
                let f =
                    *count.get(&(t.to_string(), e.id.clone())).unwrap_or(&0) as f64 / runs as f64;
                assert!(
                    (f - p).abs() < 0.04,
                    "{} {} {t}: {f} vs {p}",
                    e.unit_path[1],
                    e.business_type
                );
            }
        }
    }

    /// The auditor's case: the only dance hall of district 370 among 9
    /// karaoke, next to district 372 (10 karaoke); 10 % / 40 %, stratified.
    /// Over 40 seeds (40 plans of different years) the dance hall is drawn
    /// about as often as its neighbours; version 1 never drew it.
    #[test]
    fn the_sole_member_of_a_stratum_is_drawn_like_its_neighbours() {
        let mut establishments = Vec::new();
        for i in 0..9 {
            establishments.push(est(&uuid_for(i, "k370"), &["37", "370"], "karaoke", false));
            establishments.push(est(&uuid_for(i, "k372"), &["37", "372"], "karaoke", false));
        }
        establishments.push(est(&uuid_for(9, "k372"), &["37", "372"], "karaoke", false));
        let sole = uuid_for(0, "dance");
        establishments.push(est(&sole, &["37", "370"], "dance_hall", false));
        let mut input = DrawInput {
            plan_unit: "37".into(),
            shares: vec![share("province", 1000), share("district", 4000)],
            stratify_by_business_type: true,
            risk_weighting: false,
            seed: [0; 32],
            teams: vec![
                team("p", "province", "37"),
                team("d370", "district", "370"),
                team("d372", "district", "372"),
            ],
            establishments,
            existing: vec![],
        };
        let in_370: Vec<String> = input
            .establishments
            .iter()
            .filter(|e| e.unit_path[1] == "370")
            .map(|e| e.id.clone())
            .collect();
        let (mut v2, mut v1): (HashMap<String, u64>, HashMap<String, u64>) = Default::default();
        let plans = 40;
        for year in 0..plans {
            input.seed = seed_from(2001 + year);
            for s in draw(&input).selections {
                *v2.entry(s.establishment_id).or_insert(0) += 1;
            }
            for s in draw_with(&input, Algorithm::V1).selections {
                *v1.entry(s.establishment_id).or_insert(0) += 1;
            }
        }
        // Chance 2/20 (province, quota 2 of 20) + 4/10 (district 370, quota
        // ceil(4) = 4) = 0.5 for each of the ten: 20 of 40 expected.
        let sole_v2 = v2.get(&sole).copied().unwrap_or(0);
        let neighbours: f64 = in_370
            .iter()
            .filter(|id| **id != sole)
            .map(|id| v2.get(id).copied().unwrap_or(0) as f64)
            .sum::<f64>()
            / 9.0;
        assert!(
            (12..=28).contains(&sole_v2),
            "sole drawn {sole_v2} of {plans}"
        );
        assert!(
            (sole_v2 as f64 - neighbours).abs() <= 8.0,
            "{sole_v2} vs {neighbours}"
        );
        assert_eq!(v1.get(&sole), None, "version 1 never drew the sole member");
    }

    // ------------------------------------------------- exact probabilities

    /// Exact inclusion probabilities of version 2 on a small input: the draw
    /// is run for every order of the establishment keys (all n! of them,
    /// equally likely) and, in each, for every start of every systematic
    /// rounding it makes (each of the M starts equally likely). Returns the
    /// chance of each (team, establishment) as a numerator over the returned
    /// common denominator.
    fn exact_inclusion(input: &DrawInput) -> (HashMap<(String, String), u128>, u128) {
        let mut ids: Vec<String> = input.establishments.iter().map(|e| e.id.clone()).collect();
        ids.sort();
        ids.dedup();
        let n = ids.len();
        assert!(n <= 7);
        // Every M is at most n, so it divides l = lcm(1..=n); with at most
        // DEPTH roundings a run, 1/Π M = (l^DEPTH / Π M) / l^DEPTH.
        const DEPTH: u32 = 8;
        let l: u128 = (1..=n as u128).fold(1, |a, b| a * b / gcd(a, b));
        let unit = l.pow(DEPTH);
        let mut acc: HashMap<(String, String), u128> = HashMap::new();
        let mut total: u128 = 0;
        let mut perm: Vec<usize> = (0..n).collect();
        let mut orders = 0u128;
        loop {
            orders += 1;
            let rank: HashMap<&str, u128> = ids
                .iter()
                .zip(&perm)
                .map(|(id, &r)| (id.as_str(), r as u128))
                .collect();
            let key = |id: &str| rank[id];
            // Depth-first over the starts: (choice, M) of each rounding so far.
            let mut path: Vec<(u64, u64)> = Vec::new();
            loop {
                let mut at = 0;
                let out = draw_core(input, Algorithm::V2, &key, &mut |_, m| {
                    if at == path.len() {
                        path.push((0, m));
                    }
                    assert_eq!(path[at].1, m, "the same choices give the same roundings");
                    at += 1;
                    path[at - 1].0
                });
                assert_eq!(at, path.len());
                assert!(path.len() as u32 <= DEPTH);
                let weight = path.iter().fold(unit, |w, &(_, m)| w / u128::from(m));
                total += weight;
                for s in out.selections {
                    *acc.entry((s.team_id, s.establishment_id)).or_insert(0) += weight;
                }
                while let Some(last) = path.last_mut() {
                    if last.0 + 1 < last.1 {
                        last.0 += 1;
                        break;
                    }
                    path.pop();
                }
                if path.is_empty() {
                    break;
                }
            }
            if !next_permutation(&mut perm) {
                break;
            }
        }
        assert_eq!(total, unit * orders, "the weights of one order sum to 1");
        (acc, total)
    }

    fn gcd(a: u128, b: u128) -> u128 {
        if b == 0 {
            a
        } else {
            gcd(b, a % b)
        }
    }

    /// The next permutation in lexicographic order; false after the last.
    fn next_permutation(p: &mut [usize]) -> bool {
        let Some(i) = (1..p.len()).rev().find(|&i| p[i - 1] < p[i]) else {
            return false;
        };
        let j = (i..p.len()).rev().find(|&j| p[j] > p[i - 1]).unwrap();
        p.swap(i - 1, j);
        p[i..].reverse();
        true
    }

    /// A reduced fraction (numerator, denominator).
    type Fraction = (u128, u128);

    /// Asserts equal chances inside every team's jurisdiction, per class
    /// (forced in / not), and returns each team's chance per class as
    /// `(numerator, denominator)` reduced: `(forced, other)`.
    fn assert_equal_chances(
        input: &DrawInput,
        acc: &HashMap<(String, String), u128>,
        denom: u128,
    ) -> BTreeMap<String, (Option<Fraction>, Option<Fraction>)> {
        let mut out = BTreeMap::new();
        for t in &input.teams {
            let mut chance = [None, None];
            for e in input
                .establishments
                .iter()
                .filter(|e| e.unit_path.contains(&t.jurisdiction))
            {
                let class = usize::from(!(input.risk_weighting && e.priority));
                let p = acc.get(&(t.id.clone(), e.id.clone())).copied().unwrap_or(0);
                match chance[class] {
                    None => chance[class] = Some(p),
                    Some(q) => assert_eq!(
                        p, q,
                        "team {}: {} ({}) has {p}/{denom}, a neighbour {q}/{denom}",
                        t.id, e.id, e.business_type
                    ),
                }
            }
            let reduce = |p: u128| (p / gcd(p, denom), denom / gcd(p, denom));
            out.insert(t.id.clone(), (chance[0].map(reduce), chance[1].map(reduce)));
        }
        out
    }

    /// Province 37, districts 370 (3 karaoke, one a priority, and the only
    /// dance hall) and 372 (3 karaoke); province 20 %, districts 40 %;
    /// stratified, risk weighting. (7! key orders × every start: 8 s in a
    /// debug build.)
    #[test]
    fn exact_chances_are_equal_in_every_jurisdiction() {
        let e = |n: u32, d: &str, bt: &str, pr: bool| est(&uid(n), &["37", d], bt, pr);
        let input = DrawInput {
            plan_unit: "37".into(),
            shares: vec![share("province", 2000), share("district", 4000)],
            stratify_by_business_type: true,
            risk_weighting: true,
            seed: [0; 32],
            teams: vec![
                team("p", "province", "37"),
                team("d370", "district", "370"),
                team("d372", "district", "372"),
            ],
            establishments: vec![
                e(1, "370", "karaoke", true),
                e(2, "370", "karaoke", false),
                e(3, "370", "karaoke", false),
                e(4, "370", "dance_hall", false),
                e(5, "372", "karaoke", false),
                e(6, "372", "karaoke", false),
                e(7, "372", "karaoke", false),
            ],
            existing: vec![],
        };
        let (acc, denom) = exact_inclusion(&input);
        let chances = assert_equal_chances(&input, &acc, denom);
        // Province: quota ceil(1.4) = 2; the priority is forced in, the other
        // pick goes to one of the 6 others: 1/6 each, in both districts.
        assert_eq!(chances["p"], (Some((1, 1)), Some((1, 6))));
        // District 370: quota ceil(1.6) = 2 from the 3 others, of which the
        // province took one half of the time: 1/2 · 2/3 + 1/2 · 2/3 = 2/3.
        // The priority is always the province's (0 for the district).
        assert_eq!(chances["d370"], (Some((0, 1)), Some((2, 3))));
        // District 372: quota ceil(1.2) = 2, the same: 2/3.
        assert_eq!(chances["d372"], (None, Some((2, 3))));
        // The sole dance hall included (version 1 never drew it).
        for (t, n) in [("p", 4), ("d370", 4)] {
            assert!(acc[&(t.to_string(), uid(n))] > 0);
        }
    }

    /// The 2025 tree (province over communes, no districts), not stratified:
    /// three priority establishments for a province quota of two (forced
    /// ones drawn with equal chances too), then commune teams.
    #[test]
    fn exact_chances_with_more_priority_than_quota() {
        let e = |n: u32, c: &str, pr: bool| est(&uid(n), &["37", c], "karaoke", pr);
        let input = DrawInput {
            plan_unit: "37".into(),
            shares: vec![share("province", 3000), share("commune", 5000)],
            stratify_by_business_type: false,
            risk_weighting: true,
            seed: [0; 32],
            teams: vec![
                team("p", "province", "37"),
                team("c1", "commune", "14701"),
                team("c2", "commune", "14702"),
                team("c3", "commune", "14703"),
            ],
            establishments: vec![
                e(1, "14701", false),
                e(2, "14702", true),
                e(3, "14702", false),
                e(4, "14703", true),
                e(5, "14703", true),
                e(6, "14703", false),
            ],
            existing: vec![],
        };
        let (acc, denom) = exact_inclusion(&input);
        let chances = assert_equal_chances(&input, &acc, denom);
        // Province: quota ceil(1.8) = 2 < 3 priority: 2/3 each, none other.
        assert_eq!(chances["p"], (Some((2, 3)), Some((0, 1))));
        // Commune 14703: quota ceil(1.5) = 2; the province took 1 of its 2
        // priority (2/3 of the time: 14703's share of the 2 is 4/3) or both:
        // the one left (1/3 each) and then the other, always.
        assert_eq!(chances["c3"], (Some((1, 3)), Some((1, 1))));
        // Commune 14701: the sole establishment, quota 1: always.
        assert_eq!(chances["c1"], (None, Some((1, 1))));
        // Commune 14702: quota 1; its priority is left 1/3 of the time.
        assert_eq!(chances["c2"], (Some((1, 3)), Some((2, 3))));
    }

    // ------------------------------------------------------- worked example

    /// The worked example of docs/draw.md, section "Worked example".
    fn worked_example() -> DrawInput {
        let e = |n: u32, path: &[&str], bt: &str, pr: bool| {
            est(&format!("00000000-0000-4000-8000-{n:012x}"), path, bt, pr)
        };
        let mut seed = [0u8; 32];
        for (i, b) in seed.iter_mut().enumerate() {
            *b = i as u8;
        }
        DrawInput {
            plan_unit: "37".into(),
            shares: vec![share("province", 1000), share("district", 4000)],
            stratify_by_business_type: true,
            risk_weighting: true,
            seed,
            teams: vec![
                team("team-370", "district", "370"),
                team("team-37", "province", "37"),
                team("team-372", "district", "372"),
            ],
            establishments: vec![
                e(1, &["37", "370", "14362"], "karaoke", false),
                e(2, &["37", "370", "14362"], "massage", false),
                e(3, &["37", "370", "14365"], "karaoke", false),
                e(4, &["37", "370", "14365"], "karaoke", true),
                e(5, &["37", "370", "14368"], "massage", false),
                e(6, &["37", "370", "14368"], "massage", false),
                e(7, &["37", "370", "14371"], "karaoke", false),
                e(8, &["37", "372", "14386"], "karaoke", false),
                e(9, &["37", "372", "14386"], "massage", false),
                e(10, &["37", "372", "14389"], "massage", false),
                e(11, &["37", "372", "14389"], "karaoke", false),
                e(12, &["37", "372", "14428"], "massage", false),
            ],
            existing: vec![],
        }
    }

    fn uid(n: u32) -> String {
        format!("00000000-0000-4000-8000-{n:012x}")
    }

    fn sel(n: u32, team_id: &str, level: &str) -> Selection {
        Selection {
            establishment_id: uid(n),
            team_id: team_id.into(),
            level: level.into(),
        }
    }

    fn qrow(team_id: &str, unit: &str, level: &str, e: u64, q: u64, a: u64) -> TeamQuota {
        TeamQuota {
            team_id: team_id.into(),
            org_unit_code: unit.into(),
            level: level.into(),
            eligible: e,
            quota: q,
            assigned: a,
        }
    }

    /// The canonical serialisation with a given version's header.
    #[test]
    fn canonical_input_for_writes_the_header_of_the_recorded_version() {
        let input = worked_example();
        for a in [Algorithm::V1, Algorithm::V2] {
            let bytes = canonical_input_for(&input, &input_digest_with(&input, a));
            assert_eq!(
                hex::encode(Sha256::digest(&bytes)),
                input_digest_with(&input, a)
            );
        }
    }

    fn canonical_with(input: &DrawInput, algorithm: Algorithm) -> String {
        let mut out = Vec::new();
        write_canonical(input, algorithm, |b| out.extend_from_slice(b));
        String::from_utf8(out).unwrap()
    }

    /// The worked example of docs/draw-v1.md (version 1, frozen).
    #[test]
    fn worked_example_v1_matches_docs() {
        let draw = |i: &DrawInput| draw_with(i, Algorithm::V1);
        let input_digest = |i: &DrawInput| input_digest_with(i, Algorithm::V1);
        let input = worked_example();
        let keys: Vec<String> = (1..=14)
            .map(|n| format!("{:032x}", establishment_key(&input.seed, &uid(n))))
            .collect();
        assert_eq!(
            keys,
            [
                "211bad5119309501f24b6bce0f76c9c2",
                "05bf75d16832e39becc552eed830335d",
                "b895f51cee936fe90ff3399c6fe49af5",
                "52133a8520d9019f1a8852dbd5c143fe",
                "dc8c19249b13125e9a86b4522c5fdbc3",
                "b33606d6bcdc52eac3b52bd481a35174",
                "5c2181a7b14bf099d11659e419b35767",
                "d0776af9c37c7216a29eacfb7f93b2be",
                "24a43c97c716ba318ea63844c424919b",
                "8de42afd8cd25f49df198c5765567b4a",
                "5e42be0b2746f7ef21e9a9f739872747",
                "42ffeec6aabea0d4ebc53c28db487847",
                "a828b27120d5a4d7250e2a89c7401112",
                "6848a3c65d641e34119a3337f02354c6",
            ]
        );

        // Draw A.
        let out = draw(&input);
        assert_eq!(
            out.quotas,
            vec![
                qrow("team-37", "37", "province", 12, 2, 2),
                qrow("team-370", "370", "district", 7, 3, 3),
                qrow("team-372", "372", "district", 5, 2, 2),
            ]
        );
        assert_eq!(
            out.selections,
            vec![
                sel(4, "team-37", "province"),
                sel(9, "team-37", "province"),
                sel(2, "team-370", "district"),
                sel(1, "team-370", "district"),
                sel(7, "team-370", "district"),
                sel(12, "team-372", "district"),
                sel(11, "team-372", "district"),
            ]
        );
        assert_eq!(
            input_digest(&input),
            "b063620ae4769f30b9fae9e2216a9fba072fbb47f4c7cfd1f655d5cc74f2165d"
        );
        assert_eq!(
            canonical_with(&input, Algorithm::V1),
            WORKED_EXAMPLE_CANONICAL
        );
        assert_eq!(
            canonical_with(&input, Algorithm::V2),
            WORKED_EXAMPLE_CANONICAL.replace("input-v1", "input-v2")
        );
        assert_eq!(
            String::from_utf8(canonical_input(&input)).unwrap(),
            canonical_with(&input, Algorithm::V2)
        );

        // Top-up B: establishment 1 closes; 13 and 14 are registered in 372.
        let mut next = input.clone();
        next.establishments.retain(|e| e.id != uid(1));
        next.establishments
            .push(est(&uid(13), &["37", "372", "14428"], "karaoke", false));
        next.establishments
            .push(est(&uid(14), &["37", "372", "14386"], "massage", false));
        next.existing = out
            .selections
            .iter()
            .filter(|s| s.establishment_id != uid(1))
            .map(|s| ExistingAssignment {
                establishment_id: s.establishment_id.clone(),
                team_id: s.team_id.clone(),
            })
            .collect();
        let top = draw(&next);
        assert_eq!(
            top.quotas,
            vec![
                qrow("team-37", "37", "province", 13, 2, 2),
                qrow("team-370", "370", "district", 6, 3, 3),
                qrow("team-372", "372", "district", 7, 3, 3),
            ]
        );
        assert_eq!(
            top.selections,
            vec![
                sel(3, "team-370", "district"),
                sel(14, "team-372", "district")
            ]
        );
        assert_eq!(
            input_digest(&next),
            "dbb0217847784181d19bbaa2a73370f5b2f46717ec1cf656af5dc4f43ea5c7a3"
        );
    }

    /// The canonical serialisation of the worked example (draw A) with the
    /// version-1 header, as printed in docs/draw-v1.md (docs/draw.md prints it
    /// with the version-2 header).
    const WORKED_EXAMPLE_CANONICAL: &str = "\
kiemtra-draw-input-v1
plan_unit 2:37
shares 2
share 8:province 1000
share 8:district 4000
stratify_by_business_type 1
risk_weighting 1
seed 000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f
teams 3
team 7:team-37 8:province 2:37
team 8:team-370 8:district 3:370
team 8:team-372 8:district 3:372
establishments 12
establishment 36:00000000-0000-4000-8000-000000000001 7:karaoke 0 3 2:37 3:370 5:14362
establishment 36:00000000-0000-4000-8000-000000000002 7:massage 0 3 2:37 3:370 5:14362
establishment 36:00000000-0000-4000-8000-000000000003 7:karaoke 0 3 2:37 3:370 5:14365
establishment 36:00000000-0000-4000-8000-000000000004 7:karaoke 1 3 2:37 3:370 5:14365
establishment 36:00000000-0000-4000-8000-000000000005 7:massage 0 3 2:37 3:370 5:14368
establishment 36:00000000-0000-4000-8000-000000000006 7:massage 0 3 2:37 3:370 5:14368
establishment 36:00000000-0000-4000-8000-000000000007 7:karaoke 0 3 2:37 3:370 5:14371
establishment 36:00000000-0000-4000-8000-000000000008 7:karaoke 0 3 2:37 3:372 5:14386
establishment 36:00000000-0000-4000-8000-000000000009 7:massage 0 3 2:37 3:372 5:14386
establishment 36:00000000-0000-4000-8000-00000000000a 7:massage 0 3 2:37 3:372 5:14389
establishment 36:00000000-0000-4000-8000-00000000000b 7:karaoke 0 3 2:37 3:372 5:14389
establishment 36:00000000-0000-4000-8000-00000000000c 7:massage 0 3 2:37 3:372 5:14428
existing 0
";

    /// The worked example of docs/draw.md (version 2), section 9.
    #[test]
    fn worked_example_matches_docs() {
        let input = worked_example();
        let hex_start = |n: u64, t: &str, c: Option<&str>| {
            format!("{:032x}", random_start(&input.seed, n, t, c, false))
        };
        // The starts the example uses (the other class; no forced start is
        // needed: the one forced member goes where it is).
        assert_eq!(
            hex_start(0, "team-37", None),
            "ce32fd50dc692ac7c04cecbf381315e8"
        );
        assert_eq!(
            hex_start(0, "team-37", Some("372")),
            "3a5b75e54a2d87cbd70c1e9998130204"
        );
        assert_eq!(
            hex_start(0, "team-370", Some("370")),
            "5351d538f7853d93a1247b1e4757bb61"
        );
        assert_eq!(
            hex_start(0, "team-372", Some("372")),
            "7c57c227ac22400ff37fddc776954747"
        );
        assert_eq!(
            hex_start(6, "team-370", Some("370")),
            "76c32e265c3165fee626bb2b2c92b7ca"
        );
        assert_eq!(
            hex_start(6, "team-372", Some("372")),
            "e2fc17ea9bac513cffbe4fbcbc8e5738"
        );
        assert_eq!(systematic_rounding(1, &[6, 5], 2), vec![0, 1]);
        assert_eq!(systematic_rounding(1, &[2, 3], 4), vec![1, 0]);
        assert_eq!(systematic_rounding(3, &[3, 3], 1), vec![1, 2]);
        assert_eq!(systematic_rounding(2, &[1, 3], 3), vec![1, 1]);

        // Draw A.
        let out = draw(&input);
        assert_eq!(
            out.quotas,
            vec![
                qrow("team-37", "37", "province", 12, 2, 2),
                qrow("team-370", "370", "district", 7, 3, 3),
                qrow("team-372", "372", "district", 5, 2, 2),
            ]
        );
        assert_eq!(
            out.selections,
            vec![
                sel(4, "team-37", "province"),
                sel(11, "team-37", "province"),
                sel(2, "team-370", "district"),
                sel(1, "team-370", "district"),
                sel(6, "team-370", "district"),
                sel(9, "team-372", "district"),
                sel(8, "team-372", "district"),
            ]
        );
        assert_eq!(
            input_digest(&input),
            "17b115db98ba652b539cd5c313edeca77e7762693b90b8ca587f613476d00149"
        );
        assert_eq!(
            recompute(&input, &input_digest(&input)),
            Some((Algorithm::V2, out.clone()))
        );

        // Top-up B: establishment 1 closes; 13 and 14 are registered in 372.
        let mut next = input.clone();
        next.establishments.retain(|e| e.id != uid(1));
        next.establishments
            .push(est(&uid(13), &["37", "372", "14428"], "karaoke", false));
        next.establishments
            .push(est(&uid(14), &["37", "372", "14386"], "massage", false));
        next.existing = out
            .selections
            .iter()
            .filter(|s| s.establishment_id != uid(1))
            .map(|s| ExistingAssignment {
                establishment_id: s.establishment_id.clone(),
                team_id: s.team_id.clone(),
            })
            .collect();
        assert_eq!(next.existing.len(), 6);
        assert_eq!(systematic_rounding(1, &[2, 1], 1), vec![1, 0]);
        assert_eq!(systematic_rounding(1, &[1, 3], 0), vec![0, 1]);
        let top = draw(&next);
        assert_eq!(
            top.quotas,
            vec![
                qrow("team-37", "37", "province", 13, 2, 2),
                qrow("team-370", "370", "district", 6, 3, 3),
                qrow("team-372", "372", "district", 7, 3, 3),
            ]
        );
        assert_eq!(
            top.selections,
            vec![
                sel(7, "team-370", "district"),
                sel(12, "team-372", "district")
            ]
        );
        assert_eq!(
            input_digest(&next),
            "6b8da81d420cd725eda89caa6adf1873fb53a33a4a347c065dd9b584367031a3"
        );
    }

    #[test]
    fn recompute_finds_the_version_by_its_digest() {
        let input = worked_example();
        let v1 = input_digest_with(&input, Algorithm::V1);
        assert_eq!(
            v1,
            "b063620ae4769f30b9fae9e2216a9fba072fbb47f4c7cfd1f655d5cc74f2165d"
        );
        let (alg, out) = recompute(&input, &v1).unwrap();
        assert_eq!(alg, Algorithm::V1);
        assert_eq!(out, draw_with(&input, Algorithm::V1));
        assert_ne!(out, draw(&input));
        assert_eq!(recompute(&input, &"0".repeat(64)), None);
    }

    #[test]
    fn systematic_rounding_by_hand_and_on_average() {
        // 5 over 25:12:8 (M = 45): F(x) = floor((5x + v) / 45) at 25, 37, 45.
        assert_eq!(systematic_rounding(5, &[25, 12, 8], 0), vec![2, 2, 1]);
        assert_eq!(systematic_rounding(5, &[25, 12, 8], 10), vec![3, 1, 1]);
        assert_eq!(systematic_rounding(5, &[25, 12, 8], 44), vec![3, 2, 0]);
        assert_eq!(systematic_rounding(3, &[0, 0], 0), vec![0, 0]);
        assert_eq!(systematic_rounding(4, &[4, 0, 2], 5), vec![3, 0, 1]);
        // Over the M starts, item i gets total · size_i exactly: each
        // rounding is fair on average, and always floor or ceil.
        for (total, sizes) in [
            (5u64, vec![25u64, 12, 8]),
            (1, vec![1, 9]),
            (7, vec![3, 1, 1, 4, 2]),
        ] {
            let m: u64 = sizes.iter().sum();
            let mut sum = vec![0u64; sizes.len()];
            for v in 0..m {
                let got = systematic_rounding(total, &sizes, v);
                assert_eq!(got.iter().sum::<u64>(), total);
                for (i, g) in got.iter().enumerate() {
                    let exact = total * sizes[i];
                    assert!(g * m < exact + m && exact < (g + 1) * m, "floor or ceil");
                    sum[i] += g;
                }
            }
            let expected: Vec<u64> = sizes.iter().map(|s| total * s).collect();
            assert_eq!(sum, expected);
        }
    }

    /// Writes 400 random inputs (both tree shapes, duplicates, top-ups with
    /// stale and foreign assignments) with their draws and digests as JSON to
    /// `$DRAW_VECTORS`, for a reimplementation from docs/draw.md to compare.
    #[test]
    #[ignore = "writes test vectors for an outside reimplementation"]
    fn dump_vectors() {
        let Ok(path) = std::env::var("DRAW_VECTORS") else {
            return;
        };
        let mut cases = Vec::new();
        for c in 0..400u64 {
            let h = |k: u64| {
                let d = seed_from(c * 1000 + k);
                u64::from_be_bytes(d[..8].try_into().unwrap())
            };
            let n = h(0) % 90;
            let rows: Vec<Row> = (0..n)
                .map(|i| {
                    let x = h(10 + i);
                    (
                        (x % 4) as u8,
                        (x / 4 % 3) as u8,
                        (x / 12 % 8) as u8,
                        (x / 96 % 3) as u8,
                        x / 288 % 5 == 0,
                    )
                })
                .collect();
            let mut input = build_input(
                &rows,
                h(1) % 2 == 0,
                (h(2) % 3001) as u32,
                (h(3) % 6001) as u32,
                h(4) % 2 == 0,
                h(5) % 3 != 0,
                seed_from(c),
            );
            if h(6) % 4 == 0 && !input.establishments.is_empty() {
                let dup = input.establishments[0].clone();
                input.establishments.push(dup);
                input.teams.push(input.teams[2].clone());
            }
            if h(7) % 2 == 0 {
                let first = draw(&input);
                input.existing = first
                    .selections
                    .iter()
                    .enumerate()
                    .filter(|(i, _)| i % 4 != 1)
                    .map(|(_, s)| ExistingAssignment {
                        establishment_id: s.establishment_id.clone(),
                        team_id: s.team_id.clone(),
                    })
                    .collect();
                input.existing.push(ExistingAssignment {
                    establishment_id: "gone".into(),
                    team_id: "P".into(),
                });
                if let Some(e) = input.establishments.first() {
                    input.existing.push(ExistingAssignment {
                        establishment_id: e.id.clone(),
                        team_id: "old-team".into(),
                    });
                }
                let k = input.establishments.len() / 3;
                input.establishments.drain(..k.min(3));
            }
            let out = draw(&input);
            cases.push(serde_json::json!({
                "input": input, "output": out, "digest": input_digest(&input)
            }));
        }
        std::fs::write(path, serde_json::to_string(&cases).unwrap()).unwrap();
    }

    // ------------------------------------------------------------ proptest

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn prop_invariants_and_spread(input in input_strategy()) {
            let out = draw(&input);
            check_invariants(&input, &out);
            check_spread(&input, &out);
        }

        #[test]
        fn prop_deterministic_and_order_independent(input in input_strategy(), salt in any::<u64>()) {
            let out = draw(&input);
            prop_assert_eq!(&out, &draw(&input));
            let mut perm = input.clone();
            perm.establishments = shuffled(&input.establishments, salt);
            perm.teams = shuffled(&input.teams, salt ^ 1);
            prop_assert_eq!(&out, &draw(&perm));
            prop_assert_eq!(input_digest(&input), input_digest(&perm));
        }

        #[test]
        fn prop_id_prefix_orders_like_bytes(a in "[0-9a-f\\-\\x00]{0,20}", b in "[0-9a-f\\-\\x00]{0,20}") {
            let (pa, pb) = (id_prefix(&a), id_prefix(&b));
            if pa != pb {
                prop_assert_eq!(pa.cmp(&pb), a.as_bytes().cmp(b.as_bytes()));
            }
        }

        #[test]
        fn prop_seed_changes_sample(a in any::<[u8; 32]>(), b in any::<[u8; 32]>()) {
            prop_assume!(a != b);
            let rows: Vec<Row> = (0..60u8).map(|i| (i % 3, i % 2, 2, i % 3, false)).collect();
            let x = draw(&build_input(&rows, false, 1000, 4000, true, false, a));
            let y = draw(&build_input(&rows, false, 1000, 4000, true, false, b));
            prop_assert_ne!(&x.selections, &y.selections);
            prop_assert_eq!(&x.quotas, &y.quotas);
        }

        #[test]
        fn prop_top_up(
            input in input_strategy(),
            grow in 0u8..4,
            removed in prop::collection::vec(any::<prop::sample::Index>(), 5),
            salt in any::<u64>(),
        ) {
            let first = draw(&input);
            let mut next = input.clone();
            // Remove 5 (closed: gone from establishments and existing).
            let mut gone = HashSet::new();
            for ix in &removed {
                if !next.establishments.is_empty() {
                    let e = next.establishments.remove(ix.index(next.establishments.len()));
                    gone.insert(e.id);
                }
            }
            // Add 20 to one district (or its first commune in the 2025 shape).
            let shape_2025 = next.shares[1].level == "commune";
            for i in 0..20u64 {
                let path: Vec<String> = if shape_2025 {
                    vec!["37".into(), format!("14{}0", 70 + grow)]
                } else {
                    vec!["37".into(), format!("3{}", 70 + grow), format!("14{}{}", 70 + grow, i % 3)]
                };
                next.establishments.push(EligibleEstablishment {
                    id: uuid_for(i, &format!("new{salt}")),
                    unit_path: path,
                    business_type: ["karaoke", "massage", "hotel"][(i % 3) as usize].into(),
                    priority: i % 5 == 0,
                });
            }
            next.existing = first
                .selections
                .iter()
                .filter(|s| !gone.contains(&s.establishment_id))
                .map(|s| ExistingAssignment {
                    establishment_id: s.establishment_id.clone(),
                    team_id: s.team_id.clone(),
                })
                .collect();
            let out = draw(&next);
            // check_invariants covers: no existing re-selected, disjoint, and
            // assigned >= quota unless the jurisdiction is exhausted.
            check_invariants(&next, &out);
            for q in &out.quotas {
                let exhausted = q.eligible == 0 || {
                    let t = next.teams.iter().find(|t| t.id == q.team_id).unwrap();
                    let taken: HashSet<&str> = next.existing.iter().map(|a| a.establishment_id.as_str())
                        .chain(out.selections.iter().map(|s| s.establishment_id.as_str()))
                        .collect();
                    next.establishments.iter()
                        .filter(|e| e.unit_path.contains(&t.jurisdiction))
                        .all(|e| taken.contains(e.id.as_str()))
                };
                prop_assert!(q.assigned >= q.quota || exhausted, "{:?}", q);
            }
            // Deterministic and order independent too.
            let mut perm = next.clone();
            perm.existing = shuffled(&next.existing, salt);
            perm.establishments = shuffled(&next.establishments, salt ^ 7);
            prop_assert_eq!(&out, &draw(&perm));
        }
    }
}
