//! The pure draw at national scale, without a database.
//!
//! 200,000 synthetic establishments (the same generator and seed as
//! `kiemtra generate --communes all --establishments 200000 --seed 1`) over
//! every commune of `data/vn-admin-units-2024.csv`, one team per province and
//! one per district, shares 10 % province / 40 % district, stratified by
//! business type. Three scenarios, each timed as the median of 5 runs:
//!
//! - `national`: a synthetic root `VN` first in every path and the plan at
//!   `VN` (no team at that level): one draw for the whole country;
//! - `per_province_sum`: 63 draws, one per province plan, each over that
//!   province's establishments and teams (what the service does for 63 plans);
//! - `largest_province`: the single biggest of those 63 draws;
//! - `national_top_up`: the national draw again after 1,000 of its
//!   establishments closed and 1,000 new ones registered, keeping every
//!   assignment that still stands (what `POST /plans/{id}/top-up` computes).
//!
//! `input_digest` (which the service computes next to every draw) is timed for
//! the national input too. Run it with
//! `cargo run --release --example draw_bench [-- N_ESTABLISHMENTS]`; the last
//! lines (`RESULT key=value`) are what `bench/run` records.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use kiemtra::domain::draw::{
    draw, input_digest, DrawInput, EligibleEstablishment, ExistingAssignment, ShareSpec, TeamSpec,
};
use kiemtra::domain::synth::{communes_of, generate, load_units_csv};
use rand::{Rng, SeedableRng};

const RUNS: usize = 5;

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

fn shares() -> Vec<ShareSpec> {
    vec![
        ShareSpec {
            level: "province".into(),
            basis_points: 1000,
        },
        ShareSpec {
            level: "district".into(),
            basis_points: 4000,
        },
    ]
}

fn main() {
    let n: usize = std::env::args()
        .nth(1)
        .map(|a| a.parse().expect("N_ESTABLISHMENTS must be a number"))
        .unwrap_or(200_000);
    let csv = include_str!("../data/vn-admin-units-2024.csv");
    let units = load_units_csv(csv).expect("units CSV");
    let parent: HashMap<&str, &str> = units
        .iter()
        .filter_map(|u| u.parent_code.as_deref().map(|p| (u.code.as_str(), p)))
        .collect();
    let mut teams: Vec<TeamSpec> = Vec::new();
    for u in &units {
        if u.level == "province" || u.level == "district" {
            teams.push(TeamSpec {
                id: format!("team-{}-{}", u.level, u.code),
                level: u.level.clone(),
                jurisdiction: u.code.clone(),
            });
        }
    }
    let communes = communes_of(&units, None);
    let rows = generate(&communes, n, 1);
    let mut rng = rand::rngs::StdRng::seed_from_u64(1);
    // National paths: VN / province / district / commune.
    let establishments: Vec<EligibleEstablishment> = rows
        .iter()
        .map(|r| {
            let commune = r.org_unit_code.as_str();
            let district = parent[commune];
            let province = parent[district];
            let id = uuid::Builder::from_random_bytes(rng.random()).into_uuid();
            EligibleEstablishment {
                id: id.to_string(),
                unit_path: vec![
                    "VN".into(),
                    province.into(),
                    district.into(),
                    commune.into(),
                ],
                business_type: r.business_type.clone(),
                priority: false,
            }
        })
        .collect();
    let seed: [u8; 32] = rng.random();
    let national = DrawInput {
        plan_unit: "VN".into(),
        shares: shares(),
        stratify_by_business_type: true,
        risk_weighting: false,
        seed,
        teams: teams.clone(),
        establishments: establishments.clone(),
        existing: Vec::new(),
    };

    // Per-province inputs: the path without the VN root, the province's teams.
    let mut by_province: HashMap<String, Vec<EligibleEstablishment>> = HashMap::new();
    for e in &establishments {
        let mut e = e.clone();
        e.unit_path.remove(0);
        by_province
            .entry(e.unit_path[0].clone())
            .or_default()
            .push(e);
    }
    let mut provinces: Vec<DrawInput> = units
        .iter()
        .filter(|u| u.level == "province")
        .map(|p| DrawInput {
            plan_unit: p.code.clone(),
            shares: shares(),
            stratify_by_business_type: true,
            risk_weighting: false,
            seed,
            teams: teams
                .iter()
                .filter(|t| {
                    t.jurisdiction == p.code
                        || parent.get(t.jurisdiction.as_str()) == Some(&&*p.code)
                })
                .cloned()
                .collect(),
            establishments: by_province.remove(&p.code).unwrap_or_default(),
            existing: Vec::new(),
        })
        .collect();
    provinces.sort_by_key(|p| std::cmp::Reverse(p.establishments.len()));
    let largest = &provinces[0];

    println!(
        "draw_bench: {} establishments, {} communes, {} teams ({} province, {} district), {RUNS} runs each",
        establishments.len(),
        communes.len(),
        teams.len(),
        teams.iter().filter(|t| t.level == "province").count(),
        teams.iter().filter(|t| t.level == "district").count(),
    );

    // Warm-up (page faults, allocator) then timed runs.
    let out = draw(&national);
    let selections = out.selections.len();
    let mut t_nat = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        let out = draw(&national);
        t_nat.push(t.elapsed());
        assert_eq!(
            out.selections.len(),
            selections,
            "the draw is deterministic"
        );
    }
    let mut t_digest = Vec::new();
    for _ in 0..RUNS {
        let t = Instant::now();
        std::hint::black_box(input_digest(&national));
        t_digest.push(t.elapsed());
    }
    let mut t_sum = Vec::new();
    let mut t_largest = Vec::new();
    let mut prov_selections: usize = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        prov_selections = provinces.iter().map(|p| draw(p).selections.len()).sum();
        t_sum.push(t.elapsed());
        let t = Instant::now();
        std::hint::black_box(draw(largest));
        t_largest.push(t.elapsed());
    }
    // Top-up: the first 1,000 close, 1,000 new ones open in the first
    // establishment's commune, the rest keep their assignments.
    let mut top_up = national.clone();
    let gone: std::collections::HashSet<String> = top_up.establishments[..1000]
        .iter()
        .map(|e| e.id.clone())
        .collect();
    let commune = top_up.establishments[0].unit_path.clone();
    top_up.establishments.drain(..1000);
    for i in 0..1000u32 {
        top_up.establishments.push(EligibleEstablishment {
            id: format!("00000000-0000-4000-9000-{i:012x}"),
            unit_path: commune.clone(),
            business_type: "bar".into(),
            priority: false,
        });
    }
    top_up.existing = out
        .selections
        .iter()
        .filter(|s| !gone.contains(&s.establishment_id))
        .map(|s| ExistingAssignment {
            establishment_id: s.establishment_id.clone(),
            team_id: s.team_id.clone(),
        })
        .collect();
    let mut t_top = Vec::new();
    let mut top_selections = 0;
    for _ in 0..RUNS {
        let t = Instant::now();
        top_selections = draw(&top_up).selections.len();
        t_top.push(t.elapsed());
    }
    let top = median(t_top);
    let (nat, dig, sum, big) = (
        median(t_nat),
        median(t_digest),
        median(t_sum),
        median(t_largest),
    );
    println!(
        "national draw (plan VN):      {:8.1} ms median, {selections} selections",
        ms(nat),
    );
    println!("national input_digest:        {:8.1} ms median", ms(dig));
    println!(
        "63 province draws, summed:    {:8.1} ms median, {prov_selections} selections",
        ms(sum),
    );
    println!(
        "largest province ({}, {} est.): {:6.1} ms median",
        largest.plan_unit,
        largest.establishments.len(),
        ms(big)
    );
    println!(
        "national top-up (1,000 out, 1,000 in): {:6.1} ms median, {top_selections} new selections over {} kept",
        ms(top),
        top_up.existing.len()
    );
    println!("RESULT establishments={}", establishments.len());
    println!("RESULT national_selections={selections}");
    println!("RESULT national_draw_ms={:.1}", ms(nat));
    println!("RESULT national_digest_ms={:.1}", ms(dig));
    println!("RESULT province_sum_ms={:.1}", ms(sum));
    println!("RESULT largest_province={}", largest.plan_unit);
    println!(
        "RESULT largest_province_establishments={}",
        largest.establishments.len()
    );
    println!("RESULT largest_province_ms={:.1}", ms(big));
    println!("RESULT national_top_up_ms={:.1}", ms(top));
}
