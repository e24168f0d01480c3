//! Kế hoạch: the plans, a new plan with its shares, the warnings before
//! the draw, the draw, its verification, the top-up, and each team's
//! assignments with their schedule.

use actix_web::http::StatusCode;
use actix_web::{web, HttpRequest};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

use super::format::{self as fmt};
use super::{f, json as to_json, link_with, n, notice, read_form, s, Ctx, Nav, PageResult};
use crate::app::plans;
use crate::db::Db;
use crate::domain::values::path_uuid;
use crate::error::ApiError;

/// `GET /console/plans`: the plans the caller sees, and a new one.
pub async fn list(ctx: Ctx, db: web::Data<Db>) -> PageResult {
    let page = to_json(&plans::list(&db, ctx.user.clone(), 200, None).await?.items)?;
    let year = fmt::today().format("%Y").to_string();
    let body = html! {
        div.scroll {
            table.cards-sm #plans {
                thead { tr { th { "Kế hoạch" } th { "Năm" } th { "Địa bàn" } th { "Chỉ tiêu" } th { "Trạng thái" } } }
                tbody {
                    @for p in page.as_array().into_iter().flatten() {
                        tr {
                            td data-label="Kế hoạch" { a href={"/console/plans/" (s(p, "id"))} { (s(p, "name")) } }
                            td data-label="Năm" { (n(p, "year")) }
                            td data-label="Địa bàn" { (s(p, "org_unit_code")) }
                            td data-label="Chỉ tiêu" { (shares_text(p)) }
                            td data-label="Trạng thái" { (fmt::plan_status(s(p, "status"))) }
                        }
                    }
                }
            }
        }
        @if page.as_array().is_none_or(|a| a.is_empty()) { p.muted { "Chưa có kế hoạch nào." } }
        h2 { "Lập kế hoạch mới" }
        form.stack method="post" action="/console/plans" #plan-form {
            (ctx.csrf_field())
            label { "Tên kế hoạch" input name="name" required placeholder="Kế hoạch kiểm tra liên ngành năm …"; }
            label { "Năm" input name="year" type="number" required value=(year); }
            label { "Mã đơn vị (tỉnh)" input name="org_unit_code" required value=(ctx.user.org_unit_code.clone().unwrap_or_default()); }
            label { "Số kế hoạch (in trên báo cáo)" input name="number" maxlength="50" placeholder="20/KH-BCĐ"; }
            label { "Cơ quan ban hành" input name="issuing_body" maxlength="200" placeholder="BAN CHỈ ĐẠO 138 TỈNH …"; }
            fieldset {
                legend { "Chỉ tiêu theo cấp (tỷ lệ % cơ sở được kiểm tra)" }
                input type="hidden" name="level" value="province";
                label { "Đội cấp tỉnh (%)" input name="percent" inputmode="decimal" value="10"; }
                input type="hidden" name="level" value="district";
                label { "Đội cấp huyện (%)" input name="percent" inputmode="decimal" value="40"; }
                input type="hidden" name="level" value="commune";
                label { "Đội cấp xã (%; để trống nếu không có)" input name="percent" inputmode="decimal"; }
            }
            label.check { input type="checkbox" name="stratify_by" value="business_type" checked; "Phân tầng theo loại hình kinh doanh" }
            label.check { input type="checkbox" name="risk_weighting" value="true"; "Ưu tiên cơ sở cần tái kiểm tra" }
            button type="submit" data-action="create-plan" { "Lập kế hoạch" }
        }
    };
    Ok(ctx.page(Nav::Plans, "Kế hoạch kiểm tra", body))
}

/// "Cấp tỉnh 10 %, cấp huyện 40 %".
fn shares_text(p: &Value) -> String {
    p.get("shares")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| {
                    format!(
                        "{} {}",
                        fmt::level(s(x, "level")),
                        pct_plain(f(x, "percent"))
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// `10` → `10 %`, `12.5` → `12,5 %`.
fn pct_plain(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{} %", p as i64)
    } else {
        fmt::pct(p)
    }
}

/// `POST /console/plans`: `name`, `year`, `org_unit_code`, `number`,
/// `issuing_body`, pairs of `level` / `percent` (the shares), `stratify_by`,
/// `risk_weighting`.
pub async fn create(
    req: HttpRequest,
    mut payload: web::Payload,
    ctx: Ctx,
    db: web::Data<Db>,
) -> PageResult {
    let form = read_form(&req, &mut payload).await?;
    ctx.check(&form)?;
    let mut shares = vec![];
    for (level, percent) in form.all("level").into_iter().zip(form.all("percent")) {
        let percent = percent.trim();
        if percent.is_empty() {
            continue;
        }
        let p: f64 = percent
            .replace(',', ".")
            .parse()
            .map_err(|_| ApiError::field("shares", "a percent must be a number"))?;
        shares.push(json!({"level": level, "percent": p}));
    }
    let year: i64 = form
        .get("year")
        .unwrap_or("")
        .parse()
        .map_err(|_| ApiError::field("year", "must be a year"))?;
    let body: plans::NewPlan = serde_json::from_value(json!({
        "name": form.get("name").unwrap_or(""),
        "year": year,
        "org_unit_code": form.get("org_unit_code").unwrap_or(""),
        "shares": shares,
        "stratify_by": form.all("stratify_by"),
        "risk_weighting": form.get("risk_weighting") == Some("true"),
        "number": form.get("number"),
        "issuing_body": form.get("issuing_body"),
    }))
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let plan = to_json(&plans::create(&db, ctx.user.clone(), body).await?)?;
    Ok(ctx.redirect(&format!("/console/plans/{}?ok=created", s(&plan, "id"))))
}

/// `?ok=`, `?team_id=`, `?cursor=` of a plan's page.
#[derive(Deserialize)]
pub struct PlanQuery {
    ok: Option<String>,
    team_id: Option<String>,
    cursor: Option<String>,
}

fn warning_text(w: &Value) -> Markup {
    let unit = format!("{} ({})", s(w, "org_unit_name"), s(w, "org_unit_code"));
    html! {
        @match s(w, "kind") {
            "level_without_team" => { strong { (unit) } ": có " (fmt::num(n(w, "eligible"))) " cơ sở nhưng chưa có đội " (fmt::level(s(w, "level")).to_lowercase()) "; chỉ tiêu " (fmt::num(n(w, "quota"))) " cơ sở sẽ không có đội thực hiện." }
            "team_without_members" => { strong { (s(w, "team_name")) } " (" (unit) "): đội chưa có thành viên." }
            "quota_unreachable" => { strong { (unit) } ": chỉ tiêu " (fmt::num(n(w, "quota"))) " cơ sở vượt quá " (fmt::num(n(w, "eligible"))) " cơ sở đang hoạt động; không thể đạt." }
            other => { (other) " – " (unit) }
        }
    }
}

/// `GET /console/plans/{id}`.
pub async fn detail(
    ctx: Ctx,
    db: web::Data<Db>,
    id: web::Path<String>,
    q: web::Query<PlanQuery>,
) -> PageResult {
    let id = path_uuid(&id).map_err(|_| ApiError::NotFound)?;
    let plan = to_json(&plans::get(&db, ctx.user.clone(), id.clone()).await?)?;
    let drawn = s(&plan, "status") == "drawn";
    let warnings = to_json(&plans::warnings::warnings(&db, ctx.user.clone(), &id).await?)?;
    let teams = if drawn {
        crate::app::coverage::coverage(&db, ctx.user.clone(), id.clone(), "team").await?
    } else {
        Value::Null
    };
    let team_id = q.team_id.clone().filter(|t| !t.is_empty());
    let (assignments, next) = match &team_id {
        Some(t) if drawn => {
            let t = path_uuid(t).map_err(|_| ApiError::NotFound)?;
            let pp = crate::domain::page::PageParams {
                limit: Some(100),
                cursor: q.cursor.clone(),
            };
            let page = plans::plan_assignments(
                &db,
                ctx.user.clone(),
                id.clone(),
                plans::AssignmentQuery {
                    team_id: Some(t),
                    limit: pp.limit()?,
                    after: pp.after()?,
                    ..Default::default()
                },
            )
            .await?;
            (to_json(&page.items)?, page.next_cursor)
        }
        _ => (json!([]), None),
    };
    let done = match q.ok.as_deref() {
        Some("created") => Some("Đã lập kế hoạch. Kiểm tra các cảnh báo trước khi bốc thăm."),
        Some("drawn") => Some("Đã bốc thăm. Các đội nhận danh sách khi đồng bộ."),
        Some("topped-up") => Some("Đã bốc thăm bổ sung; không phân công nào bị thay đổi."),
        _ => None,
    };
    let indicators = super::indicators::plan_section(&ctx, &db, &id).await?;
    let warns = warnings
        .get("warnings")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let body = html! {
        (notice(done))
        p { a href="/console/plans" { "← Danh sách kế hoạch" } " · " a href={"/console/plans/" (id) "/coverage"} { "Tiến độ theo địa bàn" } }
        dl.facts {
            dt { "Năm" } dd { (n(&plan, "year")) }
            dt { "Địa bàn" } dd { (s(&plan, "org_unit_code")) }
            dt { "Chỉ tiêu" } dd { (shares_text(&plan)) }
            dt { "Trạng thái" } dd #plan-status data-status=(s(&plan, "status")) { (fmt::plan_status(s(&plan, "status"))) }
            dt { "Cơ sở đang hoạt động" } dd { (fmt::num(n(&warnings, "eligible"))) }
            @if !s(&plan, "seed").is_empty() { dt { "Hạt giống bốc thăm" } dd { code { (s(&plan, "seed")) } } }
        }
        (indicators)
        h2 { "Cảnh báo trước khi bốc thăm" }
        @if warns.is_empty() {
            p.ok #warnings { "Không có cảnh báo: mọi cấp đều có đội, mọi đội đều có thành viên, chỉ tiêu đạt được." }
        } @else {
            div.warning #warnings role="alert" {
                p { strong { (fmt::num(warns.len() as i64)) " cảnh báo" } }
                ul { @for w in &warns { li data-kind=(s(w, "kind")) data-unit=(s(w, "org_unit_code")) { (warning_text(w)) } } }
            }
        }
        div.inline {
            @if !drawn {
                form method="post" action={"/console/plans/" (id) "/draw"} data-confirm=(if warns.is_empty() { "Bốc thăm kế hoạch này?" } else { "Vẫn còn cảnh báo. Vẫn bốc thăm?" }) {
                    (ctx.csrf_field())
                    button type="submit" data-action="draw" { "Bốc thăm" }
                }
            } @else {
                form method="post" action={"/console/plans/" (id) "/verify"} {
                    (ctx.csrf_field())
                    button.secondary type="submit" data-action="verify" { "Kiểm chứng kết quả bốc thăm" }
                }
                form method="post" action={"/console/plans/" (id) "/top-up"} data-confirm="Bốc thăm bổ sung để giữ chỉ tiêu?" {
                    (ctx.csrf_field())
                    button type="submit" data-action="top-up" { "Bốc thăm bổ sung" }
                }
            }
        }
        @if drawn {
            h2 { "Phân công theo đội" }
            div.scroll {
                table.cards-sm #team-quotas {
                    thead { tr { th { "Đội" } th.num { "Cơ sở" } th.num { "Chỉ tiêu" } th.num { "Đã phân công" } th.num { "Đã kiểm tra" } th { "" } } }
                    tbody {
                        @for g in teams.get("groups").and_then(Value::as_array).into_iter().flatten() {
                            tr {
                                td data-label="Đội" { (s(g, "name")) }
                                td.num data-label="Cơ sở" { (fmt::num(n(g, "eligible"))) }
                                td.num data-label="Chỉ tiêu" { (fmt::num(n(g, "quota"))) }
                                td.num data-label="Đã phân công" { (fmt::num(n(g, "assigned"))) }
                                td.num data-label="Đã kiểm tra" { (fmt::num(n(g, "inspected"))) }
                                td { a href=(link_with(&format!("/console/plans/{id}"), &[("team_id", s(g, "key"))])) { "Xem lịch" } }
                            }
                        }
                    }
                }
            }
            @if team_id.is_some() {
                h2 { "Lịch kiểm tra của đội" }
                div.scroll {
                    table.cards-sm #assignments {
                        thead { tr { th { "Cơ sở" } th { "Loại hình" } th { "Hạn" } th { "Ngày dự kiến" } th { "Trạng thái" } } }
                        tbody {
                            @for a in assignments.as_array().into_iter().flatten() {
                                @let e = a.get("establishment").cloned().unwrap_or(Value::Null);
                                tr {
                                    td data-label="Cơ sở" { a href={"/console/establishments/" (s(&e, "id"))} { (s(&e, "name")) } }
                                    td data-label="Loại hình" { (fmt::business_type(s(&e, "business_type"))) }
                                    td data-label="Hạn" { (fmt::datetime(s(a, "due_by"))) }
                                    td data-label="Ngày dự kiến" { (fmt::datetime(s(a, "scheduled_for"))) }
                                    td data-label="Trạng thái" { (fmt::assignment_status(s(a, "status"))) }
                                }
                            }
                        }
                    }
                }
                @if let Some(c) = next {
                    p { a href=(link_with(&format!("/console/plans/{id}"), &[("team_id", team_id.as_deref().unwrap_or("")), ("cursor", &c)])) { "Trang sau →" } }
                }
            }
        }
    };
    Ok(ctx.page(Nav::Plans, s(&plan, "name"), body))
}

/// `POST /console/plans/{id}/draw`.
pub async fn draw(
    req: HttpRequest,
    mut payload: web::Payload,
    ctx: Ctx,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> PageResult {
    let form = read_form(&req, &mut payload).await?;
    ctx.check(&form)?;
    let beacon = form
        .get("beacon_value")
        .filter(|v| !v.trim().is_empty())
        .map(str::to_string);
    plans::draw(
        &db,
        ctx.user.clone(),
        &id,
        plans::DrawBody::with_beacon(beacon),
    )
    .await?;
    Ok(ctx.redirect(&format!("/console/plans/{id}?ok=drawn")))
}

/// `POST /console/plans/{id}/top-up`.
pub async fn top_up(
    req: HttpRequest,
    mut payload: web::Payload,
    ctx: Ctx,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> PageResult {
    let form = read_form(&req, &mut payload).await?;
    ctx.check(&form)?;
    plans::top_up(&db, ctx.user.clone(), &id).await?;
    Ok(ctx.redirect(&format!("/console/plans/{id}?ok=topped-up")))
}

/// `POST /console/plans/{id}/verify`: recomputes every round and shows
/// whether the stored assignments match.
pub async fn verify(
    req: HttpRequest,
    mut payload: web::Payload,
    ctx: Ctx,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> PageResult {
    let form = read_form(&req, &mut payload).await?;
    ctx.check(&form)?;
    let id = path_uuid(&id).map_err(|_| ApiError::NotFound)?;
    let v = plans::verify(&db, ctx.user.clone(), id.clone()).await?;
    let ok = v.get("matches").and_then(Value::as_bool).unwrap_or(false);
    let body = html! {
        p { a href={"/console/plans/" (id)} { "← Kế hoạch" } }
        @if ok {
            p.notice #verify-result data-matches="true" { "Khớp: tính lại từ dữ liệu đầu vào đã ghi cho đúng các phân công đã lưu." }
        } @else {
            p.warning #verify-result data-matches="false" { "KHÔNG khớp: phân công đã lưu khác với kết quả tính lại. Cần kiểm tra ngay." }
        }
        dl.facts {
            dt { "Hạt giống" } dd { code { (s(&v, "seed")) } }
            dt { "Mã băm dữ liệu đầu vào" } dd { code { (s(&v, "input_digest")) } }
        }
        @if let Some(rounds) = v.get("rounds").and_then(Value::as_array) {
            table { thead { tr { th { "Lượt" } th { "Mã băm đầu vào" } th { "Khớp" } } }
                tbody { @for r in rounds { tr { td { (n(r, "round")) } td { code { (s(r, "input_digest")) } } td { @if r.get("matches").and_then(Value::as_bool).unwrap_or(false) { "Có" } @else { "Không" } } } } } }
        }
    };
    Ok(ctx.page_with(StatusCode::OK, Nav::Plans, "Kiểm chứng bốc thăm", body))
}
