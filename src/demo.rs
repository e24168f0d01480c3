//! Seeds the demo database: Ninh Bình's real units (2024 structure),
//! synthetic establishments, the 178 teams, accounts.

use crate::app::auth::password::hash_password;
use crate::app::auth::AuthUser;
use crate::app::establishments::import_rows;
use crate::app::inspections::insert_minutes;
use crate::app::org_units::import_units;
use crate::app::plans::{create_plan, draw_in_tx, NewPlan};
use crate::app::teams::{add_member_to, create_team, NewMember, NewTeam};
use crate::app::users::{create_user, NewUser};
use crate::db::{write_tx, DbConnection};
use crate::domain::imports::ImportRow;
use crate::domain::minutes::{body_hash, InspectionBody};
use crate::domain::synth;
use crate::error::ApiError;

/// Ninh Bình province and its districts and communes (2024 structure).
pub const NINH_BINH_UNITS: &str = include_str!("../data/ninh-binh-2024.csv");
/// Ninh Bình's statistics-office code.
pub const PROVINCE: &str = "37";
/// How many synthetic establishments the demo registers.
pub const ESTABLISHMENTS: usize = 400;

fn system() -> AuthUser {
    AuthUser {
        id: "demo".into(),
        username: "demo".into(),
        role: crate::app::auth::Role::Admin,
        org_unit_code: None,
        team_id: None,
        scope_path: None,
        team_unit_path: None,
        last_sync_at: None,
        change_counter: 0,
    }
}

/// Password hashes computed before the seeding transaction (argon2 inside
/// it would hold SQLite's one write lock), one per account, each salted
/// afresh.
struct Hashes(std::vec::IntoIter<String>);

impl Hashes {
    fn next(&mut self) -> Result<String, ApiError> {
        self.0
            .next()
            .ok_or_else(|| ApiError::Internal("demo: more accounts than hashes".into()))
    }
}

fn user(
    conn: &mut DbConnection,
    hashes: &mut Hashes,
    username: &str,
    full_name: &str,
    role: &str,
    unit: Option<&str>,
    password: &str,
) -> Result<String, ApiError> {
    let new = NewUser {
        username: username.into(),
        password: password.into(),
        full_name: full_name.into(),
        role: role.into(),
        org_unit_code: unit.map(str::to_string),
        team_id: None,
    };
    Ok(create_user(conn, new.with_hash(hashes.next()?))?.id)
}

/// The districts of the province, each with a team of two accounts.
fn is_province_district(u: &synth::UnitRow) -> bool {
    u.level == "district" && u.parent_code.as_deref() == Some(PROVINCE)
}

/// Seeds everything; returns (username, what it is) for the banner.
pub fn seed(conn: &mut DbConnection, password: &str) -> Result<Vec<(String, String)>, ApiError> {
    let units = synth::load_units_csv(NINH_BINH_UNITS).map_err(ApiError::Internal)?;
    // The admin, the supervisor, the provincial inspector and two per district.
    let accounts = 3 + 2 * units.iter().filter(|u| is_province_district(u)).count();
    let mut hashes = Hashes(
        std::iter::repeat_with(|| hash_password(password))
            .take(accounts)
            .collect::<Vec<_>>()
            .into_iter(),
    );
    write_tx(conn, |conn| {
        let sys = system();
        let summary = import_units(conn, NINH_BINH_UNITS.as_bytes())?;
        if !summary.errors.is_empty() {
            return Err(ApiError::Internal(format!(
                "bundled units rejected: {:?}",
                summary.errors
            )));
        }
        let communes = synth::communes_of(&units, Some(PROVINCE));
        let rows: Vec<ImportRow> = synth::generate(&communes, ESTABLISHMENTS, 2016)
            .into_iter()
            .enumerate()
            .map(|(i, e)| {
                let v = serde_json::to_value(&e).unwrap_or_default();
                let cells = v
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .map(|(k, v)| {
                                (
                                    k.clone(),
                                    v.as_str()
                                        .map(str::to_string)
                                        .unwrap_or_else(|| v.to_string()),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                (i + 2, cells)
            })
            .collect();
        let s = import_rows(conn, rows, None, "demo", |_| {})?;
        if !s.errors.is_empty() {
            return Err(ApiError::Internal(format!(
                "synthetic rows rejected: {:?}",
                &s.errors[..s.errors.len().min(3)]
            )));
        }

        let mut logins = Vec::new();
        user(
            conn,
            &mut hashes,
            "admin",
            "Quản trị hệ thống",
            "admin",
            None,
            password,
        )?;
        logins.push(("admin".to_string(), "administrator".to_string()));
        user(
            conn,
            &mut hashes,
            "giamsat",
            "Trần Thị Giám Sát",
            "supervisor",
            Some(PROVINCE),
            password,
        )?;
        logins.push((
            "giamsat".to_string(),
            "supervisor, Ninh Bình (BCĐ 138 / Sở LĐTBXH)".to_string(),
        ));

        let province_team = create_team(
            conn,
            &sys,
            NewTeam::new(
                "Đội kiểm tra liên ngành 178 tỉnh Ninh Bình",
                "province",
                PROVINCE,
            ),
        )?;
        let inspector = user(
            conn,
            &mut hashes,
            "doi-tinh",
            "Nguyễn Văn Tỉnh",
            "inspector",
            Some(PROVINCE),
            password,
        )?;
        add_member_to(
            conn,
            &sys,
            &province_team.id,
            NewMember {
                user_id: inspector,
                agency: "labour_social_affairs".into(),
                is_leader: true,
            },
        )?;
        logins.push((
            "doi-tinh".to_string(),
            "inspector, provincial team (leader)".to_string(),
        ));

        for u in units.iter().filter(|u| is_province_district(u)) {
            let team = create_team(
                conn,
                &sys,
                NewTeam::new(&format!("Đội 178 {}", u.name), "district", &u.code),
            )?;
            let username = format!("doi-{}", u.code);
            let id = user(
                conn,
                &mut hashes,
                &username,
                &format!("Tổ trưởng {}", u.name),
                "inspector",
                Some(&u.code),
                password,
            )?;
            add_member_to(
                conn,
                &sys,
                &team.id,
                NewMember {
                    user_id: id,
                    agency: "labour_social_affairs".into(),
                    is_leader: true,
                },
            )?;
            let police = format!("cand-{}", u.code);
            let pid = user(
                conn,
                &mut hashes,
                &police,
                &format!("Công an {}", u.name),
                "inspector",
                Some(&u.code),
                password,
            )?;
            add_member_to(
                conn,
                &sys,
                &team.id,
                NewMember {
                    user_id: pid,
                    agency: "police".into(),
                    is_leader: false,
                },
            )?;
            logins.push((
                username,
                format!("inspector, district team of {} ({})", u.name, u.code),
            ));
        }
        // The 2016 plan, drawn with a recorded seed.
        let plan = create_plan(
            conn,
            &sys,
            NewPlan::new("Kế hoạch kiểm tra năm 2016 (KH 20/KH-BCĐ)", 2016, PROVINCE)
                .with_document("20/KH-BCĐ", "BAN CHỈ ĐẠO 138 TỈNH NINH BÌNH"),
        )?;
        let drawn = draw_in_tx(conn, &sys, &plan.id)?;
        logins.push((
            "(plan)".into(),
            format!(
                "2016 plan {} drawn: {} assignments",
                plan.id, drawn.assignments
            ),
        ));
        // Some completed minutes: each district team's leader files a third
        // of its assignments, one in nine with violations.
        complete_some(conn)?;
        // The plan's other targets, as data, and some activities.
        let recorded = seed_indicators(conn, &sys, &plan, &units)?;
        logins.push((
            "(indicators)".into(),
            format!(
                "{} indicators set, {recorded} activities recorded",
                SEED_INDICATORS.len()
            ),
        ));
        Ok(logins)
    })
}

/// Files minutes for a third of every district team's assignments.
fn complete_some(conn: &mut DbConnection) -> Result<(), ApiError> {
    for (leader, team) in crate::db::teams::leaders_at_level(conn, "district")? {
        let user = crate::app::auth::load_user(conn, &leader)?.ok_or(ApiError::NotFound)?;
        let members = crate::db::teams::member_ids(conn, &team)?;
        let todo = crate::db::assignments::sites_of_team(conn, &team)?;
        for (i, (assignment, establishment, lat, lon)) in
            todo.iter().enumerate().filter(|(i, _)| i % 3 == 0)
        {
            let month = 1 + (i % 12) as u32;
            let day = 1 + (i % 27) as u32;
            let with_violations = i % 9 == 0;
            let body: InspectionBody = serde_json::from_value(serde_json::json!({
                "id": uuid::Uuid::new_v4().to_string(),
                "assignment_id": assignment,
                "establishment_id": establishment,
                "team_id": team,
                "started_at": format!("2016-{month:02}-{day:02}T09:00:00+07:00"),
                "finished_at": format!("2016-{month:02}-{day:02}T10:30:00+07:00"),
                "location": lat.zip(*lon).map(|(la, lo)| serde_json::json!({"latitude": la, "longitude": lo, "accuracy_m": 10.0})),
                "members_present": members,
                "outcome": if with_violations { "violations_found" } else { "no_violation" },
                "notes": "Kiểm tra theo kế hoạch",
                "checklist": {"licence": true, "guest_register": !with_violations},
                "violations": if with_violations {
                    serde_json::json!([
                        {"code": "GUEST_REGISTER", "sanction": "warning"},
                        {"code": "LABOUR_CONTRACT", "sanction": "fine", "fine_vnd": 5000000}
                    ])
                } else {
                    serde_json::json!([])
                },
            }))
            .map_err(|e| ApiError::Internal(e.to_string()))?;
            let hash = body_hash(&body);
            insert_minutes(conn, &user, &body, &hash)?;
        }
    }
    Ok(())
}

/// The seed plan's targets beyond inspections (20/KH-BCĐ of 2016): code,
/// name, unit level, kind, target.
pub const SEED_INDICATORS: [(&str, &str, &str, &str, f64); 6] = [
    (
        "TT_XA",
        "50 % xã, phường, thị trấn tổ chức ít nhất một hình thức truyền thông phòng, chống mại dâm và duy trì thường xuyên",
        "commune",
        "share_of_units",
        50.0,
    ),
    (
        "KH_HUYEN",
        "100 % huyện, thành phố xây dựng kế hoạch lồng ghép phòng, chống mại dâm với các chương trình kinh tế - xã hội",
        "district",
        "share_of_units",
        100.0,
    ),
    (
        "TT_BAO_DAI",
        "Thông tin trên báo, đài của tỉnh ít nhất mỗi tháng một lần",
        "province",
        "per_month",
        1.0,
    ),
    (
        "MO_HINH",
        "Xây dựng 01 mô hình thí điểm hỗ trợ người bán dâm tại cộng đồng",
        "province",
        "count",
        1.0,
    ),
    (
        "TAP_HUAN",
        "100 % cán bộ làm công tác phòng, chống tệ nạn xã hội được tập huấn (theo huyện)",
        "district",
        "share_of_units",
        100.0,
    ),
    (
        "GIAM_SAT",
        "Ít nhất 02 đợt kiểm tra, giám sát định kỳ",
        "province",
        "count",
        2.0,
    ),
];

/// Sets the seed plan's indicators and records activities: communes'
/// awareness sessions over the year, most districts' plans and training,
/// the provincial media every month but the last two, the pilot model, one
/// supervision visit. Returns the activities recorded.
fn seed_indicators(
    conn: &mut DbConnection,
    sys: &AuthUser,
    plan: &crate::app::plans::Plan,
    units: &[synth::UnitRow],
) -> Result<usize, ApiError> {
    use crate::app::indicators::{define_in_tx, record_in_tx, NewActivity, NewIndicator};
    for (code, name, unit_level, kind, target) in SEED_INDICATORS {
        define_in_tx(
            conn,
            sys,
            plan,
            NewIndicator {
                code: code.into(),
                name: name.into(),
                unit_level: unit_level.into(),
                kind: kind.into(),
                target,
            },
        )?;
    }
    let mut todo: Vec<(&str, String, String, i64, String)> = Vec::new();
    let communes = synth::communes_of(units, Some(PROVINCE));
    for (i, c) in communes.iter().enumerate().filter(|(i, _)| i % 2 == 0) {
        let month = 1 + (i % 10) as u32;
        todo.push((
            "TT_XA",
            c.code.clone(),
            format!("2016-{month:02}-15"),
            1,
            "Tuyên truyền phòng, chống mại dâm tại nhà văn hóa".into(),
        ));
    }
    let districts: Vec<&synth::UnitRow> =
        units.iter().filter(|u| is_province_district(u)).collect();
    for (i, d) in districts.iter().enumerate() {
        if i + 2 < districts.len() {
            todo.push((
                "KH_HUYEN",
                d.code.clone(),
                format!("2016-{:02}-10", 2 + i % 3),
                1,
                "Kế hoạch lồng ghép đã ban hành".into(),
            ));
        }
        if i + 1 < districts.len() {
            todo.push((
                "TAP_HUAN",
                d.code.clone(),
                format!("2016-{:02}-20", 3 + i % 6),
                12,
                "Lớp tập huấn nghiệp vụ cho cán bộ".into(),
            ));
        }
    }
    for month in 1..=10 {
        todo.push((
            "TT_BAO_DAI",
            PROVINCE.into(),
            format!("2016-{month:02}-05"),
            1,
            "Chuyên mục trên Đài Phát thanh và Truyền hình tỉnh".into(),
        ));
    }
    todo.push((
        "MO_HINH",
        PROVINCE.into(),
        "2016-09-01".into(),
        1,
        "Mô hình hỗ trợ tại cộng đồng".into(),
    ));
    todo.push((
        "GIAM_SAT",
        PROVINCE.into(),
        "2016-06-15".into(),
        1,
        "Đoàn giám sát liên ngành".into(),
    ));
    let n = todo.len();
    for (code, unit, date, quantity, note) in todo {
        record_in_tx(
            conn,
            sys,
            NewActivity {
                id: None,
                plan_id: plan.id.clone(),
                indicator_code: code.into(),
                org_unit_code: unit,
                date,
                quantity: Some(quantity),
                note: Some(note),
            },
        )?;
    }
    Ok(n)
}
