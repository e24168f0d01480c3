//! Tổng quan (the plan's coverage against the target line, what is behind,
//! what waits for review, silent devices), the coverage drill-down
//! (province → district → commune → establishments), Báo cáo (the period
//! reports to download) and Nhật ký (the audit log).

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::Value;

use super::format::{self as fmt};
use super::{f, json as to_json, link_with, n, s, Ctx, Nav, PageResult};
use crate::app::reports::Format;
use crate::db::Db;
use crate::domain::values::path_uuid;
use crate::error::ApiError;

/// `?plan_id=` of the overview and the reports.
#[derive(Deserialize)]
pub struct PlanChoice {
    plan_id: Option<String>,
}

/// The plans the caller sees, newest year first.
async fn plans_of(db: &Db, ctx: &Ctx) -> Result<Vec<Value>, ApiError> {
    let page = crate::app::plans::list(db, ctx.user.clone(), 200, None).await?;
    let mut items: Vec<Value> = page
        .items
        .iter()
        .filter_map(|p| serde_json::to_value(p).ok())
        .collect();
    items.sort_by_key(|p| (std::cmp::Reverse(n(p, "year")), s(p, "status") != "drawn"));
    Ok(items)
}

fn plan_picker(action: &str, plans: &[Value], chosen: &str) -> Markup {
    html! {
        form.inline method="get" action=(action) {
            label { "Kế hoạch"
                select name="plan_id" {
                    @for p in plans { option value=(s(p, "id")) selected[s(p, "id") == chosen] { (s(p, "name")) " (" (n(p, "year")) ")" } }
                }
            }
            button.secondary type="submit" { "Xem" }
        }
    }
}

/// A progress bar with the expected line.
fn bar(percent: f64, expected: f64) -> Markup {
    let w = percent.clamp(0.0, 100.0);
    let e = expected.clamp(0.0, 100.0);
    html! {
        div.bar role="img" aria-label=(format!("Đã kiểm tra {}, mốc cần đạt {}", fmt::pct(percent), fmt::pct(expected))) {
            span style=(format!("width:{w:.1}%")) {}
            i style=(format!("left:{e:.1}%")) {}
        }
    }
}

/// The coverage table of `cov` (grouped by org unit), each row linking down.
fn coverage_table(cov: &Value, plan_id: &str) -> Markup {
    let expected = f(cov, "expected_percent");
    html! {
        div.scroll {
            table.cards-sm #coverage {
                thead { tr { th { "Địa bàn" } th.num { "Cơ sở" } th.num { "Chỉ tiêu" } th.num { "Đã phân công" } th.num { "Đã kiểm tra" } th { "Tỷ lệ" } th.num { "Vi phạm" } th { "Tiến độ" } } }
                tbody {
                    @for g in cov.get("groups").and_then(Value::as_array).into_iter().flatten() {
                        @let key = s(g, "key");
                        tr data-unit=(key) {
                            td data-label="Địa bàn" {
                                @if key.len() >= 5 {
                                    a href=(link_with("/console/establishments", &[("org_unit", key)])) { (s(g, "name")) }
                                } @else {
                                    a href=(link_with(&format!("/console/plans/{plan_id}/coverage"), &[("unit", key)])) { (s(g, "name")) }
                                }
                            }
                            td.num data-label="Cơ sở" { (fmt::num(n(g, "eligible"))) }
                            td.num data-label="Chỉ tiêu" { (fmt::num(n(g, "quota"))) }
                            td.num data-label="Đã phân công" { (fmt::num(n(g, "assigned"))) }
                            td.num data-label="Đã kiểm tra" { (fmt::num(n(g, "inspected"))) }
                            td data-label="Tỷ lệ" { (fmt::pct(f(g, "inspected_percent"))) (bar(f(g, "inspected_percent"), expected)) }
                            td.num data-label="Vi phạm" { (fmt::num(n(g, "violations"))) }
                            td data-label="Tiến độ" { @if g.get("on_track").and_then(Value::as_bool).unwrap_or(false) { span.ok { "Đạt" } } @else { span.bad { "Chậm" } } }
                        }
                    }
                }
            }
        }
    }
}

fn totals(cov: &Value) -> Markup {
    html! {
        div.cards #totals {
            div.card { div.big { (fmt::num(n(cov, "eligible"))) } "cơ sở đang hoạt động" }
            div.card { div.big { (fmt::num(n(cov, "quota"))) } "chỉ tiêu kiểm tra (" (fmt::pct(f(cov, "target_percent"))) ")" }
            div.card { div.big { (fmt::num(n(cov, "inspected"))) } "đã kiểm tra (" (fmt::pct(f(cov, "inspected_percent"))) ")" }
            div.card { div.big { (fmt::pct(f(cov, "expected_percent"))) } "mốc cần đạt đến hôm nay" }
            div.card { div.big { (fmt::num(n(cov, "violations"))) } "vi phạm" }
        }
    }
}

/// `GET /console/`: the overview of the caller's area.
pub async fn overview(ctx: Ctx, db: web::Data<Db>, q: web::Query<PlanChoice>) -> PageResult {
    let plans = plans_of(&db, &ctx).await?;
    let chosen = q
        .plan_id
        .clone()
        .filter(|p| !p.is_empty())
        .or_else(|| plans.first().map(|p| s(p, "id").to_string()));
    let (queue, waiting) = crate::app::inspections::review_queue(&db, ctx.user.clone(), 5).await?;
    let (cov, overdue) = match &chosen {
        Some(id) => {
            let id = path_uuid(id).map_err(|_| ApiError::NotFound)?;
            let (cov, overdue) = futures_util::future::join(
                crate::app::coverage::coverage(&db, ctx.user.clone(), id.clone(), "org_unit"),
                crate::app::plans::warnings::overdue(&db, ctx.user.clone(), &id),
            )
            .await;
            (Some(cov?), overdue?)
        }
        None => (None, 0),
    };
    let body = html! {
        @if plans.len() > 1 { (plan_picker("/console/", &plans, chosen.as_deref().unwrap_or(""))) }
        @match &cov {
            None => { p.muted { "Chưa có kế hoạch nào trong địa bàn của bạn. " a href="/console/plans" { "Lập kế hoạch" } } }
            Some(cov) => {
                @let plan_id = s(cov, "plan_id");
                @let behind: Vec<&Value> = cov.get("groups").and_then(Value::as_array).into_iter().flatten().filter(|g| !g.get("on_track").and_then(Value::as_bool).unwrap_or(true)).collect();
                (totals(cov))
                h2 { "Tiến độ theo địa bàn so với chỉ tiêu" }
                p.muted { "Vạch đỏ: mốc cần đạt đến hôm nay (" (fmt::pct(f(cov, "expected_percent"))) "). Bấm vào địa bàn để xem chi tiết." }
                (coverage_table(cov, plan_id))
                h2 { "Quá hạn" }
                p #overdue { @if overdue == 0 { span.ok { "Không có phân công nào quá hạn." } } @else {
                    strong.bad { (fmt::num(overdue)) } " phân công đã quá hạn mà chưa kiểm tra. "
                    a href={"/console/plans/" (plan_id)} { "Xem phân công theo đội" } } }
                h2 { "Chậm tiến độ" }
                @if behind.is_empty() { p.ok { "Không địa bàn nào chậm tiến độ." } } @else {
                    ul #behind { @for g in &behind { li { (s(g, "name")) ": " (fmt::pct(f(g, "inspected_percent"))) " / mốc " (fmt::pct(f(cov, "expected_percent"))) } } }
                }
                h2 { "Thiết bị lâu không đồng bộ" }
                @let stale = cov.get("stale_devices").and_then(Value::as_array).cloned().unwrap_or_default();
                @if stale.is_empty() { p.ok { "Mọi thiết bị đều đồng bộ gần đây." } } @else {
                    table.cards-sm #silent-devices {
                        thead { tr { th { "Đội" } th { "Tài khoản" } th { "Đồng bộ lần cuối" } } }
                        tbody { @for d in stale.iter().take(50) { tr { td data-label="Đội" { (s(d, "team_name")) } td data-label="Tài khoản" { (s(d, "username")) } td data-label="Lần cuối" { @if s(d, "last_sync_at").is_empty() { "Chưa bao giờ" } @else { (fmt::datetime(s(d, "last_sync_at"))) } } } } }
                    }
                    @if stale.len() > 50 { p.muted { "… và " (fmt::num(stale.len() as i64 - 50)) " thiết bị khác." } }
                }
            }
        }
        h2 { "Chờ duyệt" }
        p { strong #waiting { (fmt::num(waiting)) } " biên bản chờ duyệt. " a href="/console/review" { "Mở danh sách duyệt" } }
        @if !queue.is_empty() {
            ul { @for r in &queue { li { a href={"/console/inspections/" (r.id)} { (r.establishment_name) } " – " (fmt::utc(&r.finished_at))
                @if r.far_from_site { " " span.flag.bad { "Xa cơ sở" } } @if r.clock_skew { " " span.flag { "Lệch giờ" } } } } }
        }
    };
    Ok(ctx.page(Nav::Overview, "Tổng quan", body))
}

/// `?unit=` of the drill-down.
#[derive(Deserialize)]
pub struct Unit {
    unit: Option<String>,
}

/// `GET /console/plans/{id}/coverage?unit=`: the coverage inside one unit,
/// grouped by its children.
pub async fn coverage(
    ctx: Ctx,
    db: web::Data<Db>,
    id: web::Path<String>,
    q: web::Query<Unit>,
) -> PageResult {
    let id = path_uuid(&id).map_err(|_| ApiError::NotFound)?;
    let plan = to_json(&crate::app::plans::get(&db, ctx.user.clone(), id.clone()).await?)?;
    let unit = q.unit.clone().filter(|u| !u.is_empty());
    let cov = match &unit {
        Some(code) => {
            crate::app::coverage::coverage_in(
                &db,
                ctx.user.clone(),
                id.clone(),
                code.clone(),
                "org_unit",
            )
            .await?
        }
        None => {
            crate::app::coverage::coverage(&db, ctx.user.clone(), id.clone(), "org_unit").await?
        }
    };
    let name = match &unit {
        Some(code) => crate::app::org_units::get(&db, ctx.user.clone(), code.clone())
            .await
            .map(|u| u.name)
            .unwrap_or_else(|_| code.clone()),
        None => s(&plan, "org_unit_code").to_string(),
    };
    let body = html! {
        p { a href={"/console/plans/" (id)} { "← " (s(&plan, "name")) }
            @if unit.is_some() { " · " a href={"/console/plans/" (id) "/coverage"} { "Toàn địa bàn" } } }
        (totals(&cov))
        h2 { "Theo địa bàn trực thuộc" }
        (coverage_table(&cov, &id))
    };
    Ok(ctx.page(Nav::Overview, &format!("Tiến độ – {name}"), body))
}

const PERIODS: [(&str, &str); 6] = [
    ("Q1", "Quý I"),
    ("Q2", "Quý II"),
    ("Q3", "Quý III"),
    ("Q4", "Quý IV"),
    ("H1", "6 tháng đầu năm"),
    ("year", "Cả năm"),
];

const FORMATS: [(&str, &str); 4] = [
    ("xlsx", "Excel (XLSX)"),
    ("pdf", "PDF"),
    ("csv", "CSV"),
    ("json", "JSON"),
];

/// `GET /console/reports`.
pub async fn reports(ctx: Ctx, db: web::Data<Db>, q: web::Query<PlanChoice>) -> PageResult {
    let plans = plans_of(&db, &ctx).await?;
    let chosen = q
        .plan_id
        .clone()
        .filter(|p| !p.is_empty())
        .or_else(|| plans.first().map(|p| s(p, "id").to_string()));
    let body = html! {
        @if plans.is_empty() { p.muted { "Chưa có kế hoạch nào." } }
        @else {
            (plan_picker("/console/reports", &plans, chosen.as_deref().unwrap_or("")))
            @if let Some(id) = &chosen {
                p { "Báo cáo kết quả thực hiện kế hoạch theo kỳ, tính trong địa bàn của bạn." }
                table.cards-sm #reports {
                    thead { tr { th { "Kỳ báo cáo" } @for (_, label) in FORMATS { th { (label) } } } }
                    tbody {
                        @for (period, plabel) in PERIODS {
                            tr {
                                th { (plabel) }
                                @for (format, flabel) in FORMATS {
                                    td { a href=(link_with("/console/reports/download", &[("plan_id", id), ("period", period), ("format", format)])) data-action="download-report" { "Tải " (flabel) } }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(ctx.page(Nav::Reports, "Báo cáo", body))
}

/// `?plan_id=&period=&format=` of a report download.
#[derive(Deserialize)]
pub struct ReportQuery {
    plan_id: String,
    period: String,
    format: String,
}

/// `GET /console/reports/download`: the report as a file.
pub async fn download(ctx: Ctx, db: web::Data<Db>, q: web::Query<ReportQuery>) -> PageResult {
    let format = match q.format.as_str() {
        "xlsx" => Format::Xlsx,
        "csv" => Format::Csv,
        "json" => Format::Json,
        "pdf" => Format::Pdf,
        _ => return Err(ApiError::field("format", "must be xlsx, pdf, csv or json").into()),
    };
    let plan_id = path_uuid(&q.plan_id).map_err(|_| ApiError::NotFound)?;
    let (bytes, name) =
        crate::app::reports::report(&db, ctx.user.clone(), plan_id, q.period.clone(), format)
            .await?;
    Ok(HttpResponse::Ok()
        .content_type(format.content_type())
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"{name}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(bytes))
}

/// Filters of the audit page.
#[derive(Deserialize)]
pub struct AuditQuery {
    entity_id: Option<String>,
    actor: Option<String>,
    from: Option<String>,
    to: Option<String>,
    before: Option<i64>,
}

/// `GET /console/audit` (administrators).
pub async fn audit(ctx: Ctx, db: web::Data<Db>, q: web::Query<AuditQuery>) -> PageResult {
    let day = |field: &str, v: &Option<String>| -> Result<Option<chrono::NaiveDate>, ApiError> {
        crate::domain::calendar::query_date(field, v.as_deref().filter(|s| !s.is_empty()))
    };
    let filter = crate::app::audit::EntryFilter {
        entity_id: q.entity_id.clone().filter(|s| !s.is_empty()),
        actor: q.actor.clone().filter(|s| !s.is_empty()),
        from: day("from", &q.from)?.map(crate::domain::calendar::day_start),
        to: day("to", &q.to)?.map(crate::domain::calendar::day_end),
        before: q.before,
    };
    let (rows, head) = crate::app::audit::entries(&db, ctx.user.clone(), filter, 100).await?;
    let opt = |v: &Option<String>| v.clone().unwrap_or_default();
    let last = rows.last().map(|r| r.seq);
    let body = html! {
        p #chain-head { "Đầu chuỗi: "
            @if let Some((seq, hash)) = &head { "mục số " (fmt::num(*seq)) ", mã băm " code { (hash) } } @else { "chưa có mục nào" } }
        form.inline method="get" action="/console/audit" {
            label { "Mã đối tượng" input name="entity_id" value=(opt(&q.entity_id)); }
            label { "Người thực hiện (mã tài khoản)" input name="actor" value=(opt(&q.actor)); }
            label { "Từ ngày" input type="date" name="from" value=(opt(&q.from)); }
            label { "Đến ngày" input type="date" name="to" value=(opt(&q.to)); }
            button type="submit" { "Lọc" }
        }
        div.scroll {
            table.cards-sm #audit {
                thead { tr { th.num { "Số" } th { "Thời điểm" } th { "Người thực hiện" } th { "Thao tác" } th { "Đối tượng" } th { "Mã băm" } } }
                tbody {
                    @for r in &rows {
                        tr {
                            td.num data-label="Số" { (r.seq) }
                            td data-label="Thời điểm" { (fmt::utc(&r.at)) }
                            td data-label="Người" { a href=(link_with("/console/audit", &[("actor", &r.actor)])) { (r.actor) } }
                            td data-label="Thao tác" { (r.action) }
                            td data-label="Đối tượng" { a href=(link_with("/console/audit", &[("entity_id", &r.entity_id)])) { (r.entity_id) } }
                            td data-label="Mã băm" { code { (&r.hash[..16.min(r.hash.len())]) "…" } }
                        }
                    }
                }
            }
        }
        @if let (Some(seq), true) = (last, rows.len() == 100) {
            p { a href=(link_with("/console/audit", &[("entity_id", &opt(&q.entity_id)), ("actor", &opt(&q.actor)), ("from", &opt(&q.from)), ("to", &opt(&q.to)), ("before", &seq.to_string())])) { "Cũ hơn →" } }
        }
    };
    Ok(ctx.page(Nav::Audit, "Nhật ký thay đổi", body))
}
