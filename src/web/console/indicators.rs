//! Chỉ tiêu: a plan's targets beyond inspections with their values against
//! the target (per district and for the area), a form to add one; the
//! activities recorded against them, a form to record one, and withdrawal.

use actix_web::{http::header, web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

use super::format::{self as fmt};
use super::{
    f, json as to_json, link_with, n, notice, s, CheckedForm, Ctx, Fields, Nav, PageError,
    PageResult,
};
use crate::app::indicators as app;
use crate::db::Db;
use crate::domain::values::path_uuid;
use crate::error::ApiError;
use crate::state::AppState;

fn kind_vi(kind: &str) -> &str {
    match kind {
        "share_of_units" => "Tỷ lệ đơn vị có hoạt động",
        "count" => "Tổng số lượt",
        "per_month" => "Số tháng đạt (mỗi tháng)",
        other => other,
    }
}

/// A value as its kind reads: `57,14 %`, `3`, `5 tháng`.
fn value_text(kind: &str, v: f64) -> String {
    match kind {
        "share_of_units" => fmt::pct(v),
        "per_month" => format!("{} tháng", fmt::num(v.round() as i64)),
        _ => fmt::num(v.round() as i64),
    }
}

/// The target as its kind reads: `50 %`, `2 lượt`, `1 lượt mỗi tháng`.
fn target_text(kind: &str, t: f64) -> String {
    match kind {
        "share_of_units" => fmt::pct(t),
        "per_month" => format!("{} lượt mỗi tháng", fmt::num(t.round() as i64)),
        _ => format!("{} lượt", fmt::num(t.round() as i64)),
    }
}

fn track(b: Option<bool>) -> Markup {
    html! {
        @match b {
            Some(true) => span.ok data-on-track="true" { "Đúng tiến độ" },
            Some(false) => span.bad data-on-track="false" { "Chậm tiến độ" },
            None => span.muted { "—" },
        }
    }
}

/// The table of a plan's indicators with their values (on the plan page
/// and the indicators page).
fn indicator_table(items: &[Value]) -> Markup {
    html! {
        div.scroll {
            table.cards-sm #indicators {
                thead { tr { th { "Mã" } th { "Chỉ tiêu" } th { "Cấp báo cáo" } th.num { "Chỉ tiêu đặt ra" } th.num { "Kết quả" } th.num { "Cần đạt đến nay" } th { "Tiến độ" } } }
                tbody {
                    @for i in items {
                        @let kind = s(i, "kind");
                        tr data-code=(s(i, "code")) {
                            td data-label="Mã" { code { (s(i, "code")) } }
                            td data-label="Chỉ tiêu" { (s(i, "name")) br; small.muted { (kind_vi(s(i, "kind"))) } }
                            td data-label="Cấp báo cáo" { (fmt::level(s(i, "unit_level"))) }
                            td.num data-label="Chỉ tiêu đặt ra" { (target_text(kind, f(i, "target"))) }
                            td.num data-label="Kết quả" {
                                (value_text(kind, f(i, "value")))
                                @if i.get("units_total").is_some() { br; small.muted { (n(i, "units_reached")) "/" (n(i, "units_total")) " đơn vị" } }
                            }
                            td.num data-label="Cần đạt đến nay" { (value_text(kind, f(i, "expected"))) }
                            td data-label="Tiến độ" { (track(i.get("on_track").and_then(Value::as_bool))) }
                        }
                    }
                }
            }
        }
        @if items.is_empty() { p.muted { "Kế hoạch chưa có chỉ tiêu nào." } }
    }
}

/// The "Chỉ tiêu" section of a plan's page: the indicators with their
/// values today, and links to the full page and the activities.
pub async fn plan_section(ctx: &Ctx, db: &Db, plan_id: &str) -> Result<Markup, ApiError> {
    let page = app::list(
        db,
        ctx.user.clone(),
        plan_id.to_string(),
        Default::default(),
    )
    .await?;
    let items = serde_json::to_value(&page.items).map_err(|e| ApiError::Internal(e.to_string()))?;
    let items = items.as_array().cloned().unwrap_or_default();
    Ok(html! {
        h2 #chi-tieu { "Chỉ tiêu" }
        (indicator_table(&items))
        p {
            a href={"/console/plans/" (plan_id) "/indicators"} data-action="indicators" { "Chi tiết theo địa bàn, thêm chỉ tiêu" }
            " · "
            a href=(link_with("/console/activities", &[("plan_id", plan_id)])) data-action="activities" { "Hoạt động đã ghi nhận" }
        }
    })
}

/// `?ok=`, `?date=` of the indicators page.
#[derive(Deserialize)]
pub struct IndicatorsQuery {
    ok: Option<String>,
    date: Option<chrono::NaiveDate>,
}

/// `GET /console/plans/{id}/indicators`: every indicator with its value
/// per district and for the area, and the form to add one.
pub async fn page(
    ctx: Ctx,
    db: web::Data<Db>,
    id: web::Path<String>,
    q: web::Query<IndicatorsQuery>,
) -> PageResult {
    let id = path_uuid(&id).map_err(|_| ApiError::NotFound)?;
    let plan = to_json(&crate::app::plans::get(&db, ctx.user.clone(), id.clone()).await?)?;
    let page = app::list(
        &db,
        ctx.user.clone(),
        id.clone(),
        app::ValuesParams { date: q.date },
    )
    .await?;
    let items = to_json(&page.items)?;
    let items = items.as_array().cloned().unwrap_or_default();
    let as_of = items
        .first()
        .map(|i| s(i, "as_of").to_string())
        .unwrap_or_default();
    let done = match q.ok.as_deref() {
        Some("created") => Some("Đã thêm chỉ tiêu."),
        _ => None,
    };
    let body = html! {
        (notice(done))
        p { a href={"/console/plans/" (id)} { "← " (s(&plan, "name")) } " · " a href=(link_with("/console/activities", &[("plan_id", &id)])) { "Hoạt động đã ghi nhận" } }
        form.inline method="get" action={"/console/plans/" (id) "/indicators"} {
            label { "Tính đến ngày" input type="date" name="date" value=(as_of); }
            button.secondary type="submit" data-action="as-of" { "Xem" }
        }
        (indicator_table(&items))
        @for i in &items {
            @let units = i.get("by_org_unit").and_then(Value::as_array).cloned().unwrap_or_default();
            @if !units.is_empty() {
                @let kind = s(i, "kind");
                h3 { code { (s(i, "code")) } " · " (s(i, "name")) }
                div.scroll {
                    table.cards-sm data-code=(s(i, "code")) {
                        thead { tr { th { "Địa bàn" } th.num { "Kết quả" } th.num { "Cần đạt đến nay" } th { "Tiến độ" } } }
                        tbody {
                            @for u in &units {
                                tr data-unit=(s(u, "org_unit_code")) {
                                    td data-label="Địa bàn" { (s(u, "name")) }
                                    td.num data-label="Kết quả" {
                                        (value_text(kind, f(u, "value")))
                                        @if u.get("units_total").is_some() { " (" (n(u, "units_reached")) "/" (n(u, "units_total")) ")" }
                                    }
                                    td.num data-label="Cần đạt đến nay" { @if u["expected"].is_number() { (value_text(kind, f(u, "expected"))) } @else { "—" } }
                                    td data-label="Tiến độ" { (track(u.get("on_track").and_then(Value::as_bool))) }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Thêm chỉ tiêu" }
        form.stack method="post" action={"/console/plans/" (id) "/indicators"} #indicator-form {
            (ctx.csrf_field())
            label { "Mã chỉ tiêu" input name="code" required maxlength="32" pattern="[A-Za-z0-9_.\\-]{1,32}" placeholder="TT_XA"; }
            label { "Tên chỉ tiêu" input name="name" required placeholder="50 % xã tổ chức ít nhất một hình thức truyền thông"; }
            label { "Cấp đơn vị báo cáo"
                select name="unit_level" required {
                    option value="commune" { "Cấp xã" }
                    option value="district" { "Cấp huyện" }
                    option value="province" { "Cấp tỉnh" }
                }
            }
            label { "Cách tính"
                select name="kind" required {
                    option value="share_of_units" { "Tỷ lệ % đơn vị có ít nhất một hoạt động" }
                    option value="count" { "Tổng số lượt trong năm" }
                    option value="per_month" { "Số lượt mỗi tháng" }
                }
            }
            label { "Chỉ tiêu (tỷ lệ % hoặc số lượt)" input name="target" required inputmode="decimal" placeholder="50"; }
            button type="submit" data-action="create-indicator" { "Thêm chỉ tiêu" }
        }
    };
    Ok(ctx.page(
        Nav::Plans,
        &format!("Chỉ tiêu của kế hoạch: {}", s(&plan, "name")),
        body,
    ))
}

/// `POST /console/plans/{id}/indicators`: `code`, `name`, `unit_level`,
/// `kind`, `target`.
pub async fn create(f: CheckedForm, db: web::Data<Db>, id: web::Path<String>) -> PageResult {
    let CheckedForm { ctx, form } = f;
    let target: f64 = form
        .get("target")
        .unwrap_or("")
        .trim()
        .replace(',', ".")
        .parse()
        .map_err(|_| ApiError::field("target", "must be a number"))?;
    let body = app::NewIndicator {
        code: form.get("code").unwrap_or("").to_string(),
        name: form.get("name").unwrap_or("").to_string(),
        unit_level: form.get("unit_level").unwrap_or("").to_string(),
        kind: form.get("kind").unwrap_or("").to_string(),
        target,
    };
    let id = id.into_inner();
    app::create(&db, ctx.user.clone(), id.clone(), body).await?;
    Ok(ctx.redirect(&format!("/console/plans/{id}/indicators?ok=created")))
}

/// `?plan_id=&indicator_code=&ok=&cursor=` of the activities page.
#[derive(Deserialize)]
pub struct ActivitiesQuery {
    plan_id: Option<String>,
    indicator_code: Option<String>,
    ok: Option<String>,
    cursor: Option<String>,
}

/// `GET /console/activities`: the activities of a plan in the caller's
/// area, and the form to record one.
pub async fn activities(ctx: Ctx, db: web::Data<Db>, q: web::Query<ActivitiesQuery>) -> PageResult {
    let plans = to_json(
        &crate::app::plans::list(&db, ctx.user.clone(), 200, None)
            .await?
            .items,
    )?;
    let plans = plans.as_array().cloned().unwrap_or_default();
    let plan_id = q
        .plan_id
        .clone()
        .filter(|p| !p.is_empty())
        .or_else(|| plans.first().map(|p| s(p, "id").to_string()));
    let Some(plan_id) = plan_id else {
        let body = html! { p.muted { "Chưa có kế hoạch nào." } };
        return Ok(ctx.page(Nav::Plans, "Hoạt động thực hiện chỉ tiêu", body));
    };
    let plan_id = path_uuid(&plan_id).map_err(|_| ApiError::NotFound)?;
    let indicators = app::list(&db, ctx.user.clone(), plan_id.clone(), Default::default()).await?;
    let indicators = to_json(&indicators.items)?;
    let indicators = indicators.as_array().cloned().unwrap_or_default();
    let code = q.indicator_code.clone().filter(|c| !c.is_empty());
    let page = app::list_activities(
        &db,
        ctx.user.clone(),
        app::ActivityParams {
            plan_id: Some(plan_id.clone()),
            indicator_code: code.clone(),
            limit: Some(100),
            cursor: q.cursor.clone(),
            ..Default::default()
        },
    )
    .await?;
    let next = page.next_cursor.clone();
    let items = to_json(&page.items)?;
    let done = match q.ok.as_deref() {
        Some("recorded") => Some("Đã ghi nhận hoạt động."),
        Some("withdrawn") => Some("Đã rút hoạt động; hoạt động không còn được tính."),
        Some("evidence") => Some("Đã tải lên tệp minh chứng."),
        _ => None,
    };
    let today = fmt::today().format("%Y-%m-%d").to_string();
    let name_of = |c: &str| {
        indicators
            .iter()
            .find(|i| s(i, "code") == c)
            .map(|i| s(i, "name").to_string())
            .unwrap_or_default()
    };
    let body = html! {
        (notice(done))
        form.inline method="get" action="/console/activities" {
            label { "Kế hoạch"
                select name="plan_id" {
                    @for p in &plans {
                        option value=(s(p, "id")) selected[s(p, "id") == plan_id] { (s(p, "name")) }
                    }
                }
            }
            label { "Chỉ tiêu"
                select name="indicator_code" {
                    option value="" { "Tất cả" }
                    @for i in &indicators {
                        option value=(s(i, "code")) selected[code.as_deref() == Some(s(i, "code"))] { (s(i, "code")) }
                    }
                }
            }
            button.secondary type="submit" data-action="filter" { "Lọc" }
        }
        p { a href={"/console/plans/" (plan_id) "/indicators"} { "Kết quả các chỉ tiêu" } }
        div.scroll {
            table.cards-sm #activities {
                thead { tr { th { "Ngày" } th { "Chỉ tiêu" } th { "Đơn vị" } th.num { "Số lượng" } th { "Nội dung" } th { "Minh chứng" } th { "Trạng thái" } th { "" } } }
                tbody {
                    @for a in items.as_array().into_iter().flatten() {
                        @let withdrawn = s(a, "status") == "withdrawn";
                        tr data-id=(s(a, "id")) data-status=(s(a, "status")) {
                            td data-label="Ngày" { (chrono::NaiveDate::parse_from_str(s(a, "date"), "%Y-%m-%d").map(fmt::date).unwrap_or_default()) }
                            td data-label="Chỉ tiêu" { code { (s(a, "indicator_code")) } " " small.muted { (name_of(s(a, "indicator_code"))) } }
                            td data-label="Đơn vị" { (s(a, "org_unit_code")) }
                            td.num data-label="Số lượng" { (fmt::num(n(a, "quantity"))) }
                            td data-label="Nội dung" { (s(a, "note")) }
                            td data-label="Minh chứng" {
                                @if a.get("evidence_sha256").and_then(Value::as_str).is_some() {
                                    a href={"/console/activities/" (s(a, "id")) "/evidence"} data-action="download-evidence" { "Tải minh chứng" }
                                }
                                @if !withdrawn {
                                    form.inline method="post" action={"/console/activities/" (s(a, "id")) "/evidence"} enctype="multipart/form-data" {
                                        (ctx.csrf_field())
                                        input type="hidden" name="version" value=(n(a, "version"));
                                        label { "Tệp minh chứng (PDF, JPEG, PNG, tối đa 10 MB)" input type="file" name="file" accept="application/pdf,image/jpeg,image/png" required; }
                                        button.secondary type="submit" data-action="upload-evidence" { "Tải lên" }
                                    }
                                }
                            }
                            td data-label="Trạng thái" {
                                @if withdrawn { span.bad { "Đã rút" } " – " (s(a, "withdraw_reason")) } @else { "Đã ghi nhận" }
                            }
                            td {
                                @if !withdrawn {
                                    form.inline method="post" action={"/console/activities/" (s(a, "id")) "/withdraw"} {
                                        (ctx.csrf_field())
                                        input type="hidden" name="version" value=(n(a, "version"));
                                        label { "Lý do rút" input name="reason" required; }
                                        button.secondary type="submit" data-action="withdraw" { "Rút" }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
        @if items.as_array().is_none_or(|a| a.is_empty()) { p.muted { "Chưa có hoạt động nào trong địa bàn của bạn." } }
        @if let Some(c) = next {
            p { a href=(link_with("/console/activities", &[("plan_id", &plan_id), ("indicator_code", code.as_deref().unwrap_or("")), ("cursor", &c)])) { "Trang sau →" } }
        }
        h2 { "Ghi nhận hoạt động" }
        @if indicators.is_empty() {
            p.muted { "Kế hoạch chưa có chỉ tiêu: thêm chỉ tiêu trước." }
        } @else {
            form.stack method="post" action="/console/activities" #activity-form {
                (ctx.csrf_field())
                input type="hidden" name="plan_id" value=(plan_id);
                label { "Chỉ tiêu"
                    select name="indicator_code" required {
                        @for i in &indicators {
                            option value=(s(i, "code")) selected[code.as_deref() == Some(s(i, "code"))] { (s(i, "code")) " – " (s(i, "name")) " (" (fmt::level(s(i, "unit_level")).to_lowercase()) ")" }
                        }
                    }
                }
                label { "Mã đơn vị thực hiện (theo cấp của chỉ tiêu)" input name="org_unit_code" required inputmode="numeric" value=(ctx.user.org_unit_code.clone().unwrap_or_default()); }
                label { "Ngày" input type="date" name="date" required value=(today); }
                label { "Số lượng" input type="number" name="quantity" min="0" value="1" required; }
                label { "Nội dung" input name="note" maxlength="2000" placeholder="Buổi tuyên truyền tại nhà văn hóa"; }
                button type="submit" data-action="record-activity" { "Ghi nhận" }
            }
        }
    };
    Ok(ctx.page(Nav::Plans, "Hoạt động thực hiện chỉ tiêu", body))
}

/// `POST /console/activities`: `plan_id`, `indicator_code`,
/// `org_unit_code`, `date`, `quantity`, `note`.
pub async fn record(f: CheckedForm, db: web::Data<Db>) -> PageResult {
    let CheckedForm { ctx, form } = f;
    let quantity: i64 = form
        .get("quantity")
        .unwrap_or("1")
        .trim()
        .parse()
        .map_err(|_| ApiError::field("quantity", "must be a whole number"))?;
    let body: app::NewActivity = serde_json::from_value(json!({
        "plan_id": form.get("plan_id").unwrap_or(""),
        "indicator_code": form.get("indicator_code").unwrap_or(""),
        "org_unit_code": form.get("org_unit_code").unwrap_or("").trim(),
        "date": form.get("date").unwrap_or(""),
        "quantity": quantity,
        "note": form.get("note").unwrap_or(""),
    }))
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let plan = body.plan_id.clone();
    let code = body.indicator_code.clone();
    app::record(&db, ctx.user.clone(), body).await?;
    Ok(ctx.redirect(&link_with(
        "/console/activities",
        &[
            ("plan_id", &plan),
            ("indicator_code", &code),
            ("ok", "recorded"),
        ],
    )))
}

/// `POST /console/activities/{id}/withdraw`: `reason`, `version`.
pub async fn withdraw(f: CheckedForm, db: web::Data<Db>, id: web::Path<String>) -> PageResult {
    let CheckedForm { ctx, form } = f;
    let version = form.get("version").and_then(|v| v.parse().ok());
    let a = app::withdraw(
        &db,
        ctx.user.clone(),
        id.into_inner(),
        None,
        app::WithdrawBody {
            reason: form.get("reason").unwrap_or("").to_string(),
            version,
        },
    )
    .await?;
    Ok(ctx.redirect(&link_with(
        "/console/activities",
        &[("plan_id", &a.plan_id), ("ok", "withdrawn")],
    )))
}

/// `POST /console/activities/{id}/evidence` (multipart: `csrf_token`,
/// `version`, `file`): the activity's evidence file, as
/// `PUT /api/v1/activities/{id}/evidence`.
pub async fn upload_evidence(
    req: HttpRequest,
    mut payload: web::Payload,
    ctx: Ctx,
    db: web::Data<Db>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> PageResult {
    let id = id.into_inner();
    // The form's other fields and the multipart framing ride along.
    let limit = crate::domain::indicators::EVIDENCE_LIMIT + 64 * 1024;
    let body = crate::api::extract::read_body(&req, &mut payload, limit).await?;
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let parts = super::registry::multipart(ct, &body)
        .ok_or_else(|| ApiError::field("file", "send the form with a file"))?;
    let fields: Vec<(String, String)> = parts
        .iter()
        .filter(|(n, _, _)| n == "csrf_token" || n == "version")
        .map(|(n, _, v)| (n.clone(), String::from_utf8_lossy(v).to_string()))
        .collect();
    let fields = Fields(fields);
    ctx.check(&fields)?;
    let version = fields.get("version").and_then(|v| v.parse().ok());
    let (_, _, bytes) = parts
        .into_iter()
        .find(|(n, _, _)| n == "file")
        .ok_or_else(|| ApiError::field("file", "choose a PDF, JPEG or PNG file"))?;
    if bytes.is_empty() {
        return Err(PageError::Api(ApiError::field("file", "the file is empty")));
    }
    let upload = crate::app::evidence::open_evidence(
        &db,
        &ctx.user,
        &id,
        Ok(crate::app::inspections::OCTET_STREAM.to_string()),
    )
    .await?;
    let dir = state.settings.attachments_dir.clone();
    let a =
        crate::app::evidence::attach_evidence(&db, ctx.user.clone(), dir, upload, version, bytes)
            .await?;
    Ok(ctx.redirect(&link_with(
        "/console/activities",
        &[("plan_id", &a.plan_id), ("ok", "evidence")],
    )))
}

/// `GET /console/activities/{id}/evidence`: the evidence file, as a
/// download.
pub async fn download_evidence(
    ctx: Ctx,
    db: web::Data<Db>,
    state: web::Data<AppState>,
    id: web::Path<String>,
) -> PageResult {
    let id = id.into_inner();
    let dir = state.settings.attachments_dir.clone();
    let file = crate::app::evidence::read_evidence(&db, ctx.user.clone(), &dir, id.clone()).await?;
    let name = format!(
        "attachment; filename=\"minh-chung-{id}.{}\"",
        crate::domain::indicators::evidence_extension(&file.content_type)
    );
    Ok(HttpResponse::Ok()
        .content_type(file.content_type)
        .insert_header((header::CONTENT_DISPOSITION, name))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(file.bytes))
}
