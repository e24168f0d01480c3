//! Printed documents: the biên bản kiểm tra (inspection minutes) as the
//! usual administrative paper, rendered as PDF with Vietnamese glyphs.

use serde_json::Value;

use crate::app::auth::AuthUser;
use crate::db::documents as rows;
use crate::db::{Db, DbConnection};
use crate::domain::labels::{business_type_vi, int_vi, outcome_vi, sanction_vi, title_vi};
use crate::domain::pdf::{Align, Doc};
use crate::error::ApiError;

/// What the biên bản shows, read on one connection.
struct Minutes {
    m: Value,
    establishment: crate::db::establishments::Establishment,
    commune: String,
    team: (String, String),
    team_unit: String,
    members: Vec<rows::Member>,
    plan: Option<String>,
    catalogue: Vec<(String, String, String)>,
}

fn load(conn: &mut DbConnection, user: &AuthUser, id: &str) -> Result<Minutes, ApiError> {
    // The same area check as reading the minutes: 404 outside it.
    let m = crate::app::inspections::read_value(conn, user, id)?;
    let s = |k: &str| m[k].as_str().unwrap_or_default().to_string();
    let establishment =
        crate::db::establishments::find(conn, &s("establishment_id"))?.ok_or(ApiError::NotFound)?;
    let commune = rows::unit_name(conn, &establishment.org_unit_code)?.unwrap_or_default();
    let team = rows::team(conn, &s("team_id"))?.ok_or(ApiError::NotFound)?;
    let team_unit = rows::unit_name(conn, &team.1)?.unwrap_or_default();
    let ids: Vec<String> = m["members_present"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let members = rows::members(conn, &s("team_id"), &ids)?;
    let plan = match m["plan_id"].as_str() {
        Some(p) => rows::plan_name(conn, p)?,
        None => None,
    };
    let catalogue = rows::violation_types(conn)?;
    Ok(Minutes {
        m,
        establishment,
        commune,
        team,
        team_unit,
        members,
        plan,
        catalogue,
    })
}

/// A stored RFC 3339 time as Vietnam reads it: `09 giờ 00, ngày 10/05/2016`.
fn when_vi(rfc: &str) -> String {
    let vn = chrono::FixedOffset::east_opt(7 * 3600).expect("UTC+07:00");
    chrono::DateTime::parse_from_rfc3339(rfc)
        .map(|t| {
            t.with_timezone(&vn)
                .format("%H giờ %M, ngày %d/%m/%Y")
                .to_string()
        })
        .unwrap_or_else(|_| rfc.to_string())
}

fn render(x: &Minutes) -> Vec<u8> {
    let m = &x.m;
    let e = &x.establishment;
    let id = m["id"].as_str().unwrap_or_default();
    let mut d = Doc::a4(false, &format!("Biên bản kiểm tra {id}"));
    let (left, cw) = (d.left(), d.content_width());
    let half = cw * 0.42;
    let pair = |d: &mut Doc, l: &str, r: &str, bl: bool, br: bool| {
        d.line_in(left, half, 10.0, bl, Align::Center, l);
        d.line_in(left + half, cw - half, 10.0, br, Align::Center, r);
        d.space(14.0);
    };
    pair(
        &mut d,
        &x.team_unit.to_uppercase(),
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        false,
        true,
    );
    pair(
        &mut d,
        &x.team.0.to_uppercase(),
        "Độc lập - Tự do - Hạnh phúc",
        true,
        true,
    );
    let short: String = id.chars().take(8).collect();
    pair(&mut d, &format!("Số: {short}/BB-KT"), "", false, false);
    d.space(10.0);
    d.paragraph("BIÊN BẢN KIỂM TRA", 15.0, true, Align::Center);
    d.paragraph(
        "Cơ sở kinh doanh dịch vụ dễ bị lợi dụng để hoạt động mại dâm",
        11.0,
        true,
        Align::Center,
    );
    d.space(8.0);
    let p = |d: &mut Doc, s: &str| d.paragraph(s, 10.5, false, Align::Left);
    let h = |d: &mut Doc, s: &str| {
        d.space(4.0);
        d.paragraph(s, 11.0, true, Align::Left)
    };
    p(
        &mut d,
        &format!(
            "Hôm nay, bắt đầu lúc {}, kết thúc lúc {}, tại {}, {}.",
            when_vi(m["started_at"].as_str().unwrap_or_default()),
            when_vi(m["finished_at"].as_str().unwrap_or_default()),
            e.address,
            x.commune
        ),
    );
    let basis = match &x.plan {
        Some(plan) => format!("Căn cứ {plan};"),
        None => "Kiểm tra đột xuất theo thẩm quyền của Đội kiểm tra liên ngành;".into(),
    };
    p(&mut d, &basis);
    h(&mut d, "I. Thành phần đoàn kiểm tra");
    p(&mut d, &format!("{} ({})", x.team.0, x.team_unit));
    let mut members = x.members.clone();
    members.sort_by_key(|(_, name, _, leader)| (!leader.unwrap_or(false), name.clone()));
    for (i, (_, name, agency, leader)) in members.iter().enumerate() {
        let role = if leader.unwrap_or(false) {
            "Trưởng đoàn"
        } else {
            "Thành viên"
        };
        let agency = agency.as_deref().unwrap_or("");
        p(
            &mut d,
            &format!("{}. Ông/Bà {name} — {role}, {agency}", i + 1),
        );
    }
    h(&mut d, "II. Cơ sở được kiểm tra");
    p(&mut d, &format!("Tên cơ sở: {}", e.name));
    p(
        &mut d,
        &format!(
            "Loại hình kinh doanh: {}",
            business_type_vi(&e.business_type)
        ),
    );
    p(
        &mut d,
        &format!("Giấy phép kinh doanh số: {}", e.licence_no),
    );
    p(&mut d, &format!("Địa chỉ: {}, {}", e.address, x.commune));
    let owner = e
        .owner_name
        .clone()
        .unwrap_or_else(|| "………………………………".into());
    p(&mut d, &format!("Người đại diện (chủ cơ sở): {owner}"));
    h(&mut d, "III. Nội dung kiểm tra");
    p(
        &mut d,
        &format!(
            "Kết quả: {}.",
            outcome_vi(m["outcome"].as_str().unwrap_or_default())
        ),
    );
    if let Some(obj) = m["checklist"].as_object() {
        for (k, v) in obj {
            let v = match v {
                Value::Bool(true) => "Đạt".to_string(),
                Value::Bool(false) => "Không đạt".to_string(),
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            p(&mut d, &format!("- {k}: {v}"));
        }
    }
    if let Some(n) = m["notes"].as_str().filter(|n| !n.is_empty()) {
        p(&mut d, &format!("Ghi nhận của đoàn: {n}"));
    }
    h(&mut d, "IV. Hành vi vi phạm và hình thức xử lý đề nghị");
    let violations = m["violations"].as_array().cloned().unwrap_or_default();
    if violations.is_empty() {
        p(&mut d, "Không phát hiện hành vi vi phạm.");
    } else {
        let rows: Vec<Vec<(String, Align)>> = violations
            .iter()
            .enumerate()
            .map(|(i, v)| {
                let code = v["code"].as_str().unwrap_or_default();
                let (title, basis) = x
                    .catalogue
                    .iter()
                    .find(|(c, _, _)| c == code)
                    .map(|(_, t, b)| (title_vi(t).to_string(), b.clone()))
                    .unwrap_or_else(|| (code.to_string(), String::new()));
                let desc = v["description"]
                    .as_str()
                    .map(|s| format!("\n{s}"))
                    .unwrap_or_default();
                let sanction = sanction_vi(v["sanction"].as_str().unwrap_or_default()).to_string();
                let fine = v["fine_vnd"]
                    .as_i64()
                    .map(|f| format!("{} đồng", int_vi(f)))
                    .unwrap_or_default();
                vec![
                    ((i + 1).to_string(), Align::Center),
                    (format!("{title}{desc}"), Align::Left),
                    (basis, Align::Left),
                    (sanction, Align::Left),
                    (fine, Align::Right),
                ]
            })
            .collect();
        d.table(
            &[
                "STT",
                "Hành vi vi phạm",
                "Căn cứ pháp lý",
                "Hình thức xử lý đề nghị",
                "Mức phạt",
            ],
            &[0.5, 3.0, 2.0, 1.6, 1.4],
            &rows,
            9.0,
        );
    }
    h(&mut d, "V. Ý kiến của người đại diện cơ sở");
    p(&mut d, "……………………………………………………………………………………………………");
    p(
        &mut d,
        "Biên bản được lập thành 02 bản, đã đọc lại cho mọi người cùng nghe, công nhận đúng và ký tên dưới đây.",
    );
    d.space(12.0);
    d.ensure(110.0);
    let leader = members
        .iter()
        .find(|m| m.3.unwrap_or(false))
        .map(|m| m.1.clone())
        .unwrap_or_default();
    let thirds = cw / 3.0;
    for (i, (title, name)) in [
        ("ĐẠI DIỆN CƠ SỞ", owner.clone()),
        ("THÀNH VIÊN ĐOÀN", String::new()),
        ("TRƯỞNG ĐOÀN", leader),
    ]
    .iter()
    .enumerate()
    {
        let x0 = left + thirds * i as f32;
        d.line_in(x0, thirds, 10.0, true, Align::Center, title);
        d.space(13.0);
        d.line_in(x0, thirds, 9.0, false, Align::Center, "(Ký, ghi rõ họ tên)");
        d.space(60.0);
        d.line_in(x0, thirds, 10.0, true, Align::Center, name);
        d.space(-73.0);
    }
    d.finish()
}

/// The biên bản of minutes `id` as PDF, if the caller may read the minutes
/// (404 otherwise, as for the minutes themselves).
pub async fn bien_ban_pdf(db: &Db, user: AuthUser, id: String) -> Result<Vec<u8>, ApiError> {
    let x = db.run(move |conn| load(conn, &user, &id)).await?;
    tokio::task::spawn_blocking(move || render(&x))
        .await
        .map_err(|e| ApiError::Internal(format!("document task failed: {e}")))
}
