//! The draw's fairness over many plans: the sole establishment of its kind
//! in a district is drawn about as often as its neighbours (docs/draw.md §6).

use std::collections::{HashMap, HashSet};

use reqwest::{Method, StatusCode};
use serde_json::json;

use crate::helpers::{commune_of, communes, TestApp};

/// 40 plans of different years on the same registry, each drawn with a
/// server-random seed (no seed given, a draw request without a body): the
/// only dance hall of district 370 is drawn in about as many of them as the
/// other establishments of 370 (about half; version 1 of the draw never
/// drew it, its stratum's quota always rounding to 0), and every quota is
/// met exactly in every draw.
#[actix_web::test]
async fn the_only_one_of_its_kind_is_drawn_like_its_neighbours_over_40_plans() {
    let (app, admin) = TestApp::init()
        .with_establishments(120)
        .with_teams()
        .with_admin()
        .await;
    let sole = app
        .establishment(&admin, "SOLE-1", &commune_of("370"), "dance_hall")
        .await["id"]
        .as_str()
        .unwrap()
        .to_string();
    let district_by_commune: HashMap<String, String> = communes().into_iter().collect();
    let registry = app
        .all_pages("/api/v1/establishments?limit=500", &admin)
        .await;
    let in_370: Vec<String> = registry
        .iter()
        .filter(|e| district_by_commune[e["org_unit_code"].as_str().unwrap()] == "370")
        .map(|e| e["id"].as_str().unwrap().to_string())
        .collect();
    assert!(
        registry
            .iter()
            .filter(|e| e["business_type"] == "dance_hall")
            .count()
            == 1
    );
    assert!(in_370.len() >= 8, "{} in 370", in_370.len());

    let plans = 40u32;
    let mut drawn: HashMap<String, u32> = HashMap::new();
    let mut seeds = HashSet::new();
    let mut first = None;
    for year in 2001..2001 + plans as i32 {
        let plan = app
            .create_plan(
                &admin,
                json!({"name": format!("Kế hoạch {year}"), "year": year, "org_unit_code": "37",
                    "shares": [{"level": "province", "percent": 10}, {"level": "district", "percent": 40}],
                    "stratify_by": ["business_type"], "risk_weighting": false}),
            )
            .await["id"]
            .as_str()
            .unwrap()
            .to_string();
        let (s, d) = app
            .send(
                Method::POST,
                &format!("/api/v1/plans/{plan}/draw"),
                Some(&admin),
                None,
            )
            .await;
        assert_eq!(s, StatusCode::OK, "{d}");
        assert!(seeds.insert(d["seed"].as_str().unwrap().to_string()));
        for q in d["quotas"].as_array().unwrap() {
            assert_eq!(q["assigned"], q["quota"], "{q}");
        }
        let assigned = app
            .all_pages(
                &format!("/api/v1/plans/{plan}/assignments?limit=500"),
                &admin,
            )
            .await;
        assert_eq!(assigned.len() as u64, d["assignments"].as_u64().unwrap());
        for a in &assigned {
            *drawn
                .entry(a["establishment"]["id"].as_str().unwrap().to_string())
                .or_default() += 1;
        }
        first.get_or_insert(plan);
    }
    let v = app
        .get_ok(&format!("/api/v1/plans/{}/verify", first.unwrap()), &admin)
        .await;
    assert_eq!(v["matches"], true, "{v}");

    // Each establishment of 370 has the chance 10 % · N / N (province,
    // rounded at random) + 40 % (district): about 0.5, so about 20 of 40.
    let sole_drawn = drawn.get(&sole).copied().unwrap_or(0);
    let others: Vec<u32> = in_370
        .iter()
        .filter(|id| **id != sole)
        .map(|id| drawn.get(id).copied().unwrap_or(0))
        .collect();
    let neighbours = others.iter().sum::<u32>() as f64 / others.len() as f64;
    eprintln!(
        "sole dance hall drawn in {sole_drawn} of {plans} plans; its {} neighbours in 370: {neighbours:.1} on average",
        others.len()
    );
    // Binomial(40, ~0.5): below 5 or above 35 has a chance of about 1e-7.
    assert!(
        (5..=35).contains(&sole_drawn),
        "the sole dance hall was drawn in {sole_drawn} of {plans} plans (neighbours {neighbours:.1})"
    );
    assert!(
        (sole_drawn as f64 - neighbours).abs() <= 14.0,
        "sole {sole_drawn} vs neighbours {neighbours:.1} of {plans}"
    );
    assert!(
        (12.0..=28.0).contains(&neighbours),
        "neighbours {neighbours:.1}"
    );
}
