//! The inspection draw: a pure, verifiable, seeded random assignment of
//! eligible establishments to the inspection teams of a plan.
//!
//! [`draw`] is a pure function of a [`DrawInput`] (plan parameters, the
//! eligible establishments, the teams, a recorded 32-byte seed and, for a
//! top-up, the assignments that already exist). Anyone holding the same input
//! recomputes the same assignments; [`input_digest`] fingerprints that input.
//! No `rand`, no floating point and no hash-map iteration order takes part in
//! the result: randomness comes only from SHA-256 of the seed and the
//! establishment id.
//!
//! The algorithm, the digest serialisation and a worked example are specified
//! byte for byte in `docs/draw.md`; the worked example is pinned by a unit test
//! below, so the page and the code cannot drift apart.

use std::collections::{HashMap, HashSet};

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

/// Largest remainder: split `total` over items in proportion to `weights`.
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

/// Capped allocation: split `total` over items in proportion to `weights`
/// without giving any item more than `caps[i]`.
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

/// A normalised establishment.
struct Est<'a> {
    src: &'a EligibleEstablishment,
    key: u128,
    /// Interned business type (ids follow byte order of the strings).
    btype: u32,
    /// Interned plan cell (child of plan_unit, or plan_unit itself); ids follow
    /// byte order of the codes. `u32::MAX` if plan_unit is not on the path.
    plan_cell: u32,
}

/// One stratum of one cell of one team.
struct Bucket {
    cell: u32,
    stratum: u32,
    /// Establishment indices (= group ranks), ascending.
    members: Vec<u32>,
    /// Members not yet taken when the team starts.
    avail: u64,
    /// Members already assigned to this team in `existing`.
    own: u64,
    /// New selections to make here.
    take: u64,
}

fn intern(mut v: Vec<&str>) -> Vec<&str> {
    v.sort_unstable();
    v.dedup();
    v
}

fn plan_cell_code<'a>(path: &'a [String], plan_unit: &'a str) -> Option<&'a str> {
    let i = path.iter().position(|c| c == plan_unit)?;
    Some(path.get(i + 1).map_or(plan_unit, String::as_str))
}

/// The draw: a pure function of its input. See `docs/draw.md`.
pub fn draw(input: &DrawInput) -> DrawOutput {
    // --- Normalise establishments: sort by id, drop duplicate ids. ---------
    let mut srcs: Vec<&EligibleEstablishment> = input.establishments.iter().collect();
    srcs.sort_by(|a, b| cmp_establishment(a, b));
    srcs.dedup_by(|later, earlier| later.id == earlier.id);

    let btypes = intern(srcs.iter().map(|e| e.business_type.as_str()).collect());
    let cells = intern(
        srcs.iter()
            .filter_map(|e| plan_cell_code(&e.unit_path, &input.plan_unit))
            .collect(),
    );
    let mut ests: Vec<Est> = srcs
        .iter()
        .map(|e| Est {
            src: e,
            key: establishment_key(&input.seed, &e.id),
            btype: btypes
                .binary_search(&e.business_type.as_str())
                .expect("interned") as u32,
            plan_cell: plan_cell_code(&e.unit_path, &input.plan_unit).map_or(u32::MAX, |c| {
                cells.binary_search(&c).expect("interned") as u32
            }),
        })
        .collect();
    // Group order: priority first (if risk weighting), key ascending, id
    // ascending. From here on an establishment's index is its rank.
    let risk = input.risk_weighting;
    ests.sort_by(|a, b| {
        let pa = risk && a.src.priority;
        let pb = risk && b.src.priority;
        pb.cmp(&pa)
            .then(a.key.cmp(&b.key))
            .then(a.src.id.as_bytes().cmp(b.src.id.as_bytes()))
    });

    // --- Normalise teams: keep those whose level has a share. --------------
    let level_pos = |level: &str| input.shares.iter().position(|s| s.level == level);
    let mut teams: Vec<(usize, &TeamSpec)> = input
        .teams
        .iter()
        .filter_map(|t| level_pos(&t.level).map(|p| (p, t)))
        .collect();
    teams.sort_by(|a, b| {
        a.0.cmp(&b.0)
            .then(a.1.id.as_bytes().cmp(b.1.id.as_bytes()))
            .then(a.1.jurisdiction.as_bytes().cmp(b.1.jurisdiction.as_bytes()))
    });
    let mut seen = HashSet::new();
    teams.retain(|(_, t)| seen.insert(t.id.as_str()));
    let team_index: HashMap<&str, u32> = teams
        .iter()
        .enumerate()
        .map(|(i, (_, t))| (t.id.as_str(), i as u32))
        .collect();

    // --- Index establishments by jurisdiction code (rank order). -----------
    let mut by_code: HashMap<&str, Vec<u32>> = teams
        .iter()
        .map(|(_, t)| (t.jurisdiction.as_str(), Vec::new()))
        .collect();
    for (i, e) in ests.iter().enumerate() {
        let path = &e.src.unit_path;
        for (j, code) in path.iter().enumerate() {
            if path[..j].contains(code) {
                continue;
            }
            if let Some(v) = by_code.get_mut(code.as_str()) {
                v.push(i as u32);
            }
        }
    }

    // --- Existing assignments: taken; owner = listed team, if any. ---------
    const NO_TEAM: u32 = u32::MAX;
    let mut taken = vec![false; ests.len()];
    let mut owner = vec![NO_TEAM; ests.len()];
    if !input.existing.is_empty() {
        let by_id: HashMap<&str, usize> = ests
            .iter()
            .enumerate()
            .map(|(i, e)| (e.src.id.as_str(), i))
            .collect();
        let mut existing: Vec<&ExistingAssignment> = input.existing.iter().collect();
        existing.sort_by(|a, b| {
            a.establishment_id
                .as_bytes()
                .cmp(b.establishment_id.as_bytes())
                .then(a.team_id.as_bytes().cmp(b.team_id.as_bytes()))
        });
        existing.dedup_by(|later, earlier| later.establishment_id == earlier.establishment_id);
        for a in existing {
            if let Some(&i) = by_id.get(a.establishment_id.as_str()) {
                taken[i] = true;
                owner[i] = team_index
                    .get(a.team_id.as_str())
                    .copied()
                    .unwrap_or(NO_TEAM);
            }
        }
    }

    // --- Teams in order. ----------------------------------------------------
    let empty: Vec<u32> = Vec::new();
    let mut selections = Vec::new();
    let mut quotas = Vec::with_capacity(teams.len());
    for (ti, &(pos, team)) in teams.iter().enumerate() {
        let ti = ti as u32;
        let bp = input.shares[pos].basis_points;
        let eligible = by_code.get(team.jurisdiction.as_str()).unwrap_or(&empty);
        let is_plan = team.jurisdiction == input.plan_unit;

        // Buckets = (cell, stratum), members in rank order.
        let mut slot: HashMap<(u32, u32), usize> = HashMap::new();
        let mut buckets: Vec<Bucket> = Vec::new();
        for &i in eligible {
            let e = &ests[i as usize];
            let cell = if is_plan { e.plan_cell } else { 0 };
            let stratum = if input.stratify_by_business_type {
                e.btype
            } else {
                0
            };
            let b = *slot.entry((cell, stratum)).or_insert_with(|| {
                buckets.push(Bucket {
                    cell,
                    stratum,
                    members: Vec::new(),
                    avail: 0,
                    own: 0,
                    take: 0,
                });
                buckets.len() - 1
            });
            let b = &mut buckets[b];
            b.members.push(i);
            if !taken[i as usize] {
                b.avail += 1;
            } else if owner[i as usize] == ti {
                b.own += 1;
            }
        }
        buckets.sort_by_key(|b| (b.cell, b.stratum));
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
        let cell_n: Vec<u64> = ranges
            .iter()
            .map(|&(s, e)| buckets[s..e].iter().map(|b| b.members.len() as u64).sum())
            .collect();
        let cell_target = largest_remainder(quota, &cell_n);

        for (c, &(s, e)) in ranges.iter().enumerate() {
            let bs = &mut buckets[s..e];
            let n: Vec<u64> = bs.iter().map(|b| b.members.len() as u64).collect();
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
                let n: Vec<u64> = bs.iter().map(|b| b.members.len() as u64).collect();
                let caps: Vec<u64> = bs.iter().map(|b| b.avail - b.take).collect();
                let add = capped_allocation(r, &n, &caps);
                for (b, a) in bs.iter_mut().zip(add) {
                    b.take += a;
                }
            }
        }

        // Pick: in each stratum the first `take` untaken members.
        let mut picked: Vec<u32> = Vec::new();
        for b in &buckets {
            let mut left = b.take;
            for &i in &b.members {
                if left == 0 {
                    break;
                }
                if !taken[i as usize] {
                    taken[i as usize] = true;
                    picked.push(i);
                    left -= 1;
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
        selections.extend(picked.into_iter().map(|i| Selection {
            establishment_id: ests[i as usize].src.id.clone(),
            team_id: team.id.clone(),
            level: team.level.clone(),
        }));
    }
    DrawOutput { selections, quotas }
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

/// Streams the canonical serialisation into SHA-256.
struct DigestWriter {
    hasher: Sha256,
    buf: Vec<u8>,
}

impl DigestWriter {
    fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        if self.buf.len() >= 1 << 16 {
            self.hasher.update(&self.buf);
            self.buf.clear();
        }
    }
    /// A string field: decimal UTF-8 byte length, `:`, the bytes.
    fn field(&mut self, s: &str) {
        self.raw(s.len().to_string().as_bytes());
        self.raw(b":");
        self.raw(s.as_bytes());
    }
    fn sp(&mut self) {
        self.raw(b" ");
    }
    fn nl(&mut self) {
        self.raw(b"\n");
    }
    fn num(&mut self, n: u64) {
        self.raw(n.to_string().as_bytes());
    }
    fn finish(mut self) -> String {
        self.hasher.update(&self.buf);
        hex::encode(self.hasher.finalize())
    }
}

/// SHA-256 (lowercase hex) of the canonical serialisation of the input
/// (documented byte for byte in `docs/draw.md`). Independent of the order of
/// `teams`, `establishments` and `existing`; `shares` order counts.
pub fn input_digest(input: &DrawInput) -> String {
    let mut w = DigestWriter {
        hasher: Sha256::new(),
        buf: Vec::new(),
    };
    w.raw(b"kiemtra-draw-input-v1\n");
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

    let mut ests: Vec<&EligibleEstablishment> = input.establishments.iter().collect();
    ests.sort_by(|a, b| cmp_establishment(a, b));
    w.raw(b"establishments ");
    w.num(ests.len() as u64);
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
    w.finish()
}
