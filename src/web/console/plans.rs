//! Kế hoạch: the plans, a new plan with its shares and seed procedure
//! (or a rehearsal), the warnings before the draw, the freeze of a
//! `public_beacon` plan, the draw, its verification with each round's input
//! to download, the top-up, the cancellation, and each team's assignments
//! with their schedule. Every control is a form calling the same
//! `app::plans` use case as the JSON API; a refusal is shown on the page.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

use super::format::{self as fmt};
use super::{
    f, json as to_json, link_with, n, notice, s, CheckedForm, Ctx, Fields, Nav, PageError,
    PageResult,
};
use crate::app::plans;
use crate::db::Db;
use crate::domain::seed;
use crate::domain::values::path_uuid;
use crate::error::ApiError;

/// `GET /console/plans`: the plans the caller sees, and a new one.
pub async fn list(ctx: Ctx, db: web::Data<Db>) -> PageResult {
    list_page(ctx, &db, None, None).await
}

/// The plans' page, with a refusal of the new-plan form (and the form as
/// it was sent) when there is one.
async fn list_page(
    ctx: Ctx,
    db: &Db,
    problem: Option<Problem>,
    sent: Option<&Fields>,
) -> PageResult {
    let page = to_json(&plans::list(db, ctx.user.clone(), 200, None).await?.items)?;
    let year = fmt::today().format("%Y").to_string();
    let status = problem.as_ref().map_or(StatusCode::OK, |p| p.status);
    let body = html! {
        div.scroll {
            table.cards-sm #plans {
                thead { tr { th { "Kế hoạch" } th { "Năm" } th { "Địa bàn" } th { "Chỉ tiêu" } th { "Trạng thái" } } }
                tbody {
                    @for p in page.as_array().into_iter().flatten() {
                        tr {
                            td data-label="Kế hoạch" { a href={"/console/plans/" (s(p, "id"))} { (s(p, "name")) } @if p.get("rehearsal").and_then(Value::as_bool).unwrap_or(false) { " " span.badge.rehearsal { "Diễn tập" } } }
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
        h2 #new-plan { "Lập kế hoạch mới" }
        @if let Some(p) = &problem { (p.markup()) }
        form.stack method="post" action="/console/plans" #plan-form {
            (ctx.csrf_field())
            label { "Tên kế hoạch" input name="name" required placeholder="Kế hoạch kiểm tra liên ngành năm …" value=(sent.and_then(|f| f.get("name")).unwrap_or("")); }
            label { "Năm" input name="year" type="number" required value=(sent.and_then(|f| f.get("year")).unwrap_or(&year)); }
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
            (seed_fields(sent))
            button type="submit" data-action="create-plan" { "Lập kế hoạch" }
        }
    };
    Ok(ctx.page_with(status, Nav::Plans, "Kế hoạch kiểm tra", body))
}

/// The new-plan form's seed procedure and rehearsal fields (docs/draw.md
/// §12), named as `POST /plans` names them.
fn seed_fields(sent: Option<&Fields>) -> Markup {
    let got = |k: &str| sent.and_then(|f| f.get(k)).unwrap_or("").to_string();
    let beacon = got("seed_procedure") == seed::PUBLIC_BEACON;
    let rehearsal = got("rehearsal") == "true";
    html! {
        fieldset #seed-procedure {
            legend { "Cách xác định hạt giống bốc thăm" }
            label.check {
                input type="radio" name="seed_procedure" value=(seed::SERVER_RANDOM) checked[!beacon];
                "Máy chủ sinh ngẫu nhiên khi bốc thăm (server_random): tin tưởng đơn vị vận hành máy chủ."
            }
            label.check {
                input type="radio" name="seed_procedure" value=(seed::PUBLIC_BEACON) checked[beacon];
                "Giá trị công khai (public_beacon): không bên nào tự quyết được kết quả. Dữ liệu đầu vào được chốt và máy chủ cam kết giá trị của mình trước ngày công bố; khi bốc thăm nhập giá trị đã công bố."
            }
            label { "Nguồn giá trị công khai (chỉ với public_beacon)"
                input name="beacon.source" value=(got("beacon.source")) placeholder="Xổ số kiến thiết miền Bắc, giải đặc biệt";
            }
            label { "Ngày công bố (sau hôm nay; chỉ với public_beacon)"
                input name="beacon.date" type="date" value=(got("beacon.date"));
            }
        }
        fieldset #rehearsal {
            legend { "Diễn tập" }
            label.check {
                input type="checkbox" name="rehearsal" value="true" checked[rehearsal];
                "Kế hoạch diễn tập: bốc thăm thử, kết quả không giao cho đội nào, không tính vào tiến độ hay báo cáo."
            }
            label { "Hạt giống tự chọn (chỉ cho diễn tập; 64 chữ số hex, để trống nếu không cần)"
                input name="seed" value=(got("seed")) pattern="[0-9a-f]{64}" autocomplete="off" spellcheck="false";
            }
        }
    }
}

/// A refusal shown on the page that sent the form, in Vietnamese.
pub struct Problem {
    status: StatusCode,
    title: &'static str,
    lines: Vec<String>,
    /// The form refused (`data-action` of its button).
    from: &'static str,
}

impl Problem {
    /// The refusal of `e`, or `e` itself when it is not about the form (a
    /// page outside the area, a failure of the server).
    fn of(e: PageError, from: &'static str) -> Result<Problem, PageError> {
        let PageError::Api(api) = e else {
            return Err(e);
        };
        let (status, title, lines) = match &api {
            ApiError::Validation(errs) => (
                StatusCode::UNPROCESSABLE_ENTITY,
                "Dữ liệu chưa hợp lệ",
                errs.iter()
                    .map(|f| format!("{}: {}", field_vi(&f.field), message_vi(&f.message)))
                    .collect(),
            ),
            ApiError::Conflict(m) => (
                StatusCode::CONFLICT,
                "Không thực hiện được",
                vec![message_vi(m)],
            ),
            ApiError::BadRequest(m) => (
                StatusCode::BAD_REQUEST,
                "Dữ liệu chưa hợp lệ",
                vec![message_vi(m)],
            ),
            _ => return Err(PageError::Api(api)),
        };
        Ok(Problem {
            status,
            title,
            lines,
            from,
        })
    }

    fn markup(&self) -> Markup {
        html! {
            div.warning #problem role="alert" data-status=(self.status.as_u16()) data-form=(self.from) {
                p { strong { (self.title) } }
                ul { @for l in &self.lines { li { (l) } } }
                p { "Không có gì được thay đổi." }
            }
        }
    }
}

/// The label of an API field name, for a refusal.
fn field_vi(field: &str) -> String {
    let label = match field {
        "name" => "Tên kế hoạch",
        "year" => "Năm",
        "org_unit_code" => "Mã đơn vị",
        "shares" => "Chỉ tiêu",
        "seed" => "Hạt giống",
        "seed_procedure" => "Cách xác định hạt giống",
        "beacon" => "Giá trị công khai",
        "beacon.source" => "Nguồn giá trị công khai",
        "beacon.date" => "Ngày công bố",
        "beacon.value" => "Giá trị đã công bố",
        "beacon_value" => "Giá trị đã công bố",
        "reason" => "Lý do hủy",
        f if f.starts_with("shares[") => "Chỉ tiêu theo cấp",
        f if f.starts_with("stratify_by") => "Phân tầng",
        _ => return field.to_string(),
    };
    format!("{label} ({field})")
}

/// The use cases' messages about plans, in Vietnamese (the English one when
/// it is not known here).
fn message_vi(m: &str) -> String {
    const KNOWN: [(&str, &str); 24] = [
        ("is required", "bắt buộc"),
        ("must be between 2000 and 2100", "phải từ 2000 đến 2100"),
        ("no such org unit in your area", "không có đơn vị này trong địa bàn của bạn"),
        ("needs at least one share", "cần ít nhất một cấp có chỉ tiêu"),
        ("appears twice", "bị lặp lại"),
        ("must be above 0 and at most 100", "phải lớn hơn 0, không quá 100, tối đa hai chữ số thập phân"),
        ("percentages add up to more than 100", "tổng tỷ lệ vượt quá 100 %"),
        ("a percent must be a number", "tỷ lệ phải là một số"),
        ("only a rehearsal", "chỉ kế hoạch diễn tập mới được tự chọn hạt giống; hạt giống của kế hoạch thật do cách xác định hạt giống quyết định sau khi chốt dữ liệu đầu vào"),
        ("must be 64 lower-case hex digits", "phải gồm 64 chữ số hex viết thường"),
        ("a plan with a seed is a caller-seeded rehearsal", "kế hoạch có hạt giống tự chọn là diễn tập; không dùng giá trị công khai"),
        ("public_beacon needs", "cần nguồn và ngày công bố của giá trị công khai"),
        ("must be a day after today", "phải là một ngày sau hôm nay (giờ Việt Nam): dữ liệu được chốt trước ngày đó"),
        ("must be YYYY-MM-DD", "phải là một ngày (dd/mm/yyyy)"),
        ("only with \"seed_procedure\": \"public_beacon\"", "chỉ dùng với cách xác định public_beacon"),
        ("must be server_random or public_beacon", "phải là server_random hoặc public_beacon"),
        ("a live plan for this unit, year and levels exists", "đã có một kế hoạch đang hiệu lực cho đơn vị, năm và các cấp này; hãy hủy (thay thế) kế hoạch đó trước"),
        ("only a public_beacon plan takes a beacon value", "chỉ kế hoạch dùng giá trị công khai mới nhập giá trị đã công bố"),
        ("freeze the plan's input first", "cần chốt dữ liệu đầu vào trước khi bốc thăm"),
        ("the published value of the plan's beacon is required", "cần nhập giá trị đã công bố (1 đến 200 ký tự)"),
        ("has been drawn already", "kế hoạch đã được bốc thăm; dùng bốc thăm bổ sung"),
        ("the plan is cancelled", "kế hoạch đã bị hủy"),
        ("has not been drawn yet", "kế hoạch chưa được bốc thăm"),
        ("only a public_beacon plan is frozen before its draw", "chỉ kế hoạch dùng giá trị công khai mới cần chốt dữ liệu trước khi bốc thăm"),
    ];
    const MORE: [(&str, &str); 5] = [
        ("the plan's input is frozen already", "dữ liệu đầu vào của kế hoạch đã được chốt"),
        ("the beacon's day has come", "đã đến ngày công bố giá trị công khai: không thể chốt dữ liệu trước ngày đó nữa; hãy hủy kế hoạch và lập kế hoạch mới"),
        ("a rehearsal is drawn once", "kế hoạch diễn tập chỉ bốc thăm một lần, không có bốc thăm bổ sung"),
        ("the registry kept changing", "danh sách cơ sở thay đổi liên tục trong lúc bốc thăm; vui lòng thử lại"),
        ("the registry changed during the draw", "danh sách cơ sở thay đổi trong lúc bốc thăm; vui lòng thử lại"),
    ];
    KNOWN
        .iter()
        .chain(MORE.iter())
        .find(|(en, _)| m.contains(en))
        .map(|(_, vi)| (*vi).to_string())
        .unwrap_or_else(|| m.to_string())
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
/// `issuing_body`, pairs of
/// `level` / `percent` (the shares), `stratify_by`, `risk_weighting`,
/// `seed_procedure` with `beacon.source` and `beacon.date`, `rehearsal`
/// and `seed`. A refusal shows the form again, as sent, with the reason.
pub async fn create(f: CheckedForm, db: web::Data<Db>) -> PageResult {
    let CheckedForm { ctx, form } = f;
    match create_plan(&ctx, &db, &form).await {
        Ok(id) => Ok(ctx.redirect(&format!("/console/plans/{id}?ok=created"))),
        Err(e) => {
            let problem = Problem::of(e, "create-plan")?;
            list_page(ctx, &db, Some(problem), Some(&form)).await
        }
    }
}

/// The plan of the new-plan form, created; its id.
async fn create_plan(ctx: &Ctx, db: &Db, form: &Fields) -> Result<String, PageError> {
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
    let mut body = json!({
        "name": form.get("name").unwrap_or(""),
        "year": year,
        "org_unit_code": form.get("org_unit_code").unwrap_or(""),
        "shares": shares,
        "stratify_by": form.all("stratify_by"),
        "risk_weighting": form.get("risk_weighting") == Some("true"),
        "rehearsal": form.get("rehearsal") == Some("true"),
        "number": form.get("number"),
        "issuing_body": form.get("issuing_body"),
    });
    if let Some(seed) = form.get("seed") {
        body["seed"] = json!(seed);
    }
    if let Some(procedure) = form.get("seed_procedure") {
        body["seed_procedure"] = json!(procedure);
        // The beacon's fields count only with the procedure that uses them.
        if procedure == seed::PUBLIC_BEACON {
            body["beacon"] = json!({
                "source": form.get("beacon.source").unwrap_or(""),
                "date": form.get("beacon.date").unwrap_or(""),
            });
        }
    }
    let body: plans::NewPlan =
        serde_json::from_value(body).map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let plan = to_json(&plans::create(db, ctx.user.clone(), body).await?)?;
    Ok(s(&plan, "id").to_string())
}

/// `?ok=`, `?team_id=`, `?cursor=` of a plan's page.
#[derive(Deserialize, Default)]
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
    render(ctx, &db, &id, q.into_inner(), None).await
}

/// A plan's page, with the refusal of one of its forms when there is one.
async fn render(ctx: Ctx, db: &Db, id: &str, q: PlanQuery, problem: Option<Problem>) -> PageResult {
    let id = path_uuid(id).map_err(|_| ApiError::NotFound)?;
    let plan = to_json(&plans::get(db, ctx.user.clone(), id.clone()).await?)?;
    let drawn = s(&plan, "status") == "drawn";
    let cancelled = s(&plan, "status") == "cancelled";
    let rehearsal = plan
        .get("rehearsal")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let record = plan.get("seed_procedure").cloned().unwrap_or(Value::Null);
    let rounds = plan
        .get("rounds")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let warnings = to_json(&plans::warnings::warnings(db, ctx.user.clone(), &id).await?)?;
    let teams = if drawn && !rehearsal {
        crate::app::coverage::coverage(db, ctx.user.clone(), id.clone(), "team").await?
    } else {
        Value::Null
    };
    let team_id = q.team_id.clone().filter(|t| !t.is_empty());
    let (assignments, next) = match &team_id {
        _ if rehearsal && !rounds.is_empty() => {
            let pp = crate::domain::page::PageParams {
                limit: Some(100),
                cursor: q.cursor.clone(),
            };
            let page = plans::plan_assignments(
                db,
                ctx.user.clone(),
                id.clone(),
                plans::AssignmentQuery {
                    limit: pp.limit()?,
                    after: pp.after()?,
                    ..Default::default()
                },
            )
            .await?;
            (to_json(&page.items)?, page.next_cursor)
        }
        Some(t) if drawn => {
            let t = path_uuid(t).map_err(|_| ApiError::NotFound)?;
            let pp = crate::domain::page::PageParams {
                limit: Some(100),
                cursor: q.cursor.clone(),
            };
            let page = plans::plan_assignments(
                db,
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
        Some("frozen") => Some("Đã chốt dữ liệu đầu vào và công bố cam kết của máy chủ. Bốc thăm sau khi giá trị công khai được công bố."),
        Some("cancelled") => Some("Đã hủy kế hoạch. Kế hoạch vẫn được lưu trong danh sách cùng kết quả của nó; có thể lập kế hoạch thay thế."),
        _ => None,
    };
    let indicators = super::indicators::plan_section(&ctx, db, &id).await?;
    let status = problem.as_ref().map_or(StatusCode::OK, |p| p.status);
    let procedure = s(&record, "procedure");
    let frozen = !s(&record, "frozen_at").is_empty();
    let beacon = record.get("beacon").cloned().unwrap_or(Value::Null);
    let warns = warnings
        .get("warnings")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let body = html! {
        (notice(done))
        @if let Some(p) = &problem { (p.markup()) }
        @if rehearsal {
            p.warning #rehearsal-banner data-rehearsal="true" { strong { "Diễn tập." } " Kết quả bốc thăm của kế hoạch này chỉ để thử: không giao cho đội nào, không tính vào tiến độ, báo cáo, và không phải kế hoạch đang hiệu lực." }
        }
        @if cancelled {
            p.warning #cancelled-banner { strong { "Đã hủy" } " lúc " (fmt::datetime(s(&plan, "cancelled_at"))) ". Lý do: " (s(&plan, "cancel_reason")) }
        }
        p { a href="/console/plans" { "← Danh sách kế hoạch" } " · " a href={"/console/plans/" (id) "/coverage"} { "Tiến độ theo địa bàn" } }
        dl.facts {
            dt { "Năm" } dd { (n(&plan, "year")) }
            dt { "Địa bàn" } dd { (s(&plan, "org_unit_code")) }
            dt { "Chỉ tiêu" } dd { (shares_text(&plan)) }
            dt { "Trạng thái" } dd #plan-status data-status=(s(&plan, "status")) { (fmt::plan_status(s(&plan, "status"))) @if rehearsal { " (diễn tập)" } }
            dt { "Cơ sở đang hoạt động" } dd { (fmt::num(n(&warnings, "eligible"))) }
            @if !s(&plan, "seed").is_empty() { dt { "Hạt giống bốc thăm" } dd { code { (s(&plan, "seed")) } } }
        }
        (indicators)
        (seed_record(&record))
        @if !rounds.is_empty() { (rounds_table(&id, &rounds)) }
        h2 { "Cảnh báo trước khi bốc thăm" }
        @if warns.is_empty() {
            p.ok #warnings { "Không có cảnh báo: mọi cấp đều có đội, mọi đội đều có thành viên, chỉ tiêu đạt được." }
        } @else {
            div.warning #warnings role="alert" {
                p { strong { (fmt::num(warns.len() as i64)) " cảnh báo" } }
                ul { @for w in &warns { li data-kind=(s(w, "kind")) data-unit=(s(w, "org_unit_code")) { (warning_text(w)) } } }
            }
        }
        h2 { "Thao tác" }
        div.inline #plan-controls {
            @if !drawn && !cancelled && procedure == seed::PUBLIC_BEACON && !frozen {
                form.stack method="post" action={"/console/plans/" (id) "/freeze"} data-confirm="Chốt dữ liệu đầu vào? Sau khi chốt, danh sách cơ sở dùng để bốc thăm không đổi nữa." {
                    (ctx.csrf_field())
                    p.muted { "Bước 1: chốt dữ liệu đầu vào và công bố cam kết của máy chủ, trước ngày " (fmt_day(s(&beacon, "date"))) "." }
                    button type="submit" data-action="freeze" { "Chốt dữ liệu đầu vào" }
                }
            }
            @if !drawn && !cancelled && (procedure != seed::PUBLIC_BEACON || frozen) {
                form.stack method="post" action={"/console/plans/" (id) "/draw"} data-confirm=(if warns.is_empty() { "Bốc thăm kế hoạch này?" } else { "Vẫn còn cảnh báo. Vẫn bốc thăm?" }) {
                    (ctx.csrf_field())
                    @if procedure == seed::PUBLIC_BEACON {
                        label { "Giá trị đã công bố: " (s(&beacon, "source")) ", ngày " (fmt_day(s(&beacon, "date")))
                            input name="beacon_value" required autocomplete="off";
                        }
                    }
                    button type="submit" data-action="draw" { @if rehearsal { "Bốc thăm thử" } @else { "Bốc thăm" } }
                }
            }
            @if !rounds.is_empty() {
                form method="post" action={"/console/plans/" (id) "/verify"} {
                    (ctx.csrf_field())
                    button.secondary type="submit" data-action="verify" { "Kiểm chứng kết quả bốc thăm" }
                }
            }
            @if drawn && !rehearsal {
                form method="post" action={"/console/plans/" (id) "/top-up"} data-confirm="Bốc thăm bổ sung để giữ chỉ tiêu?" {
                    (ctx.csrf_field())
                    button type="submit" data-action="top-up" { "Bốc thăm bổ sung" }
                }
            }
        }
        @if !cancelled {
            details #cancel-plan open[problem.as_ref().is_some_and(|p| p.from == "cancel")] {
                summary { "Hủy (thay thế) kế hoạch này" }
                form.stack method="post" action={"/console/plans/" (id) "/cancel"} data-confirm="Hủy kế hoạch này? Các phân công chưa thực hiện sẽ bị hủy theo." {
                    (ctx.csrf_field())
                    p.muted { "Kế hoạch bị hủy vẫn được lưu cùng kết quả bốc thăm; các phân công chưa thực hiện bị hủy với lý do này. Sau đó có thể lập kế hoạch thay thế cho cùng đơn vị, năm và các cấp." }
                    label { "Lý do hủy" textarea name="reason" required rows="2" {} }
                    button.danger type="submit" data-action="cancel" { "Hủy kế hoạch" }
                }
            }
        }
        @if rehearsal && !rounds.is_empty() {
            h2 { "Kết quả bốc thăm thử (không giao cho đội)" }
            div.scroll {
                table.cards-sm #assignments data-rehearsal="true" {
                    thead { tr { th.num { "Lượt" } th.num { "Thứ tự" } th { "Cơ sở" } th { "Cấp" } th { "Đội" } } }
                    tbody {
                        @for a in assignments.as_array().into_iter().flatten() {
                            @let e = a.get("establishment").cloned().unwrap_or(Value::Null);
                            tr {
                                td.num data-label="Lượt" { (n(a, "round")) }
                                td.num data-label="Thứ tự" { (n(a, "selection_order")) }
                                td data-label="Cơ sở" { a href={"/console/establishments/" (s(&e, "id"))} { (s(&e, "name")) } }
                                td data-label="Cấp" { (fmt::level(s(a, "level"))) }
                                td data-label="Đội" { a href={"/console/teams/" (s(a, "team_id"))} { "Xem đội" } }
                            }
                        }
                    }
                }
            }
            @if let Some(c) = &next {
                p { a href=(link_with(&format!("/console/plans/{id}"), &[("cursor", c)])) { "Trang sau →" } }
            }
        }
        @if drawn && !rehearsal {
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
    Ok(ctx.page_with(status, Nav::Plans, s(&plan, "name"), body))
}

/// `2026-12-24` → `24/12/2026` (as it came when it is not a date).
fn fmt_day(d: &str) -> String {
    chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d")
        .map(fmt::date)
        .unwrap_or_else(|_| d.to_string())
}

/// The seed procedure's name and whom it trusts, in Vietnamese.
fn procedure_text(procedure: &str) -> (&'static str, &'static str) {
    match procedure {
        seed::SERVER_RANDOM => (
            "Máy chủ sinh ngẫu nhiên (server_random)",
            "Tin tưởng đơn vị vận hành máy chủ: giá trị ngẫu nhiên được sinh khi bốc thăm, sau khi đã đọc dữ liệu đầu vào.",
        ),
        seed::PUBLIC_BEACON => (
            "Giá trị công khai (public_beacon)",
            "Không phải tin riêng bên nào: dữ liệu đầu vào được chốt và máy chủ cam kết giá trị của mình trước khi giá trị công khai được công bố.",
        ),
        seed::CALLER => (
            "Hạt giống do người lập chọn (caller)",
            "Chỉ dành cho diễn tập: kết quả không giao cho đội nào.",
        ),
        _ => (
            "Không được ghi lại (unrecorded)",
            "Kế hoạch lập trước khi có quy trình xác định hạt giống: hạt giống có thể đã được chọn.",
        ),
    }
}

/// The seed procedure's record (docs/draw.md §12): enough to recompute the
/// seed by hand.
fn seed_record(r: &Value) -> Markup {
    let (name, trusts) = procedure_text(s(r, "procedure"));
    let beacon = r.get("beacon").cloned().unwrap_or(Value::Null);
    html! {
        h2 { "Cách xác định hạt giống" }
        dl.facts #seed-record data-procedure=(s(r, "procedure")) {
            dt { "Quy trình" } dd { (name) }
            dt { "Tin tưởng" } dd { (trusts) }
            @if !beacon.is_null() {
                dt { "Giá trị công khai" } dd { (s(&beacon, "source")) ", công bố ngày " (fmt_day(s(&beacon, "date"))) }
                @if !s(&beacon, "value").is_empty() { dt { "Giá trị đã công bố" } dd { code { (s(&beacon, "value")) } } }
            }
            @if !s(r, "frozen_at").is_empty() { dt { "Chốt dữ liệu lúc" } dd #frozen-at { (fmt::datetime(s(r, "frozen_at"))) } }
            @if !s(r, "frozen_digest").is_empty() { dt { "Mã băm dữ liệu đã chốt" } dd { code.hash { (s(r, "frozen_digest")) } } }
            @if !s(r, "server_commitment").is_empty() { dt { "Cam kết của máy chủ (SHA-256)" } dd { code.hash { (s(r, "server_commitment")) } } }
            @if !s(r, "server_value").is_empty() { dt { "Giá trị của máy chủ" } dd { code.hash { (s(r, "server_value")) } } }
            @if !s(r, "caller_seed").is_empty() { dt { "Hạt giống tự chọn" } dd { code.hash { (s(r, "caller_seed")) } } }
        }
    }
}

/// The plan's rounds, each with its input to download.
fn rounds_table(id: &str, rounds: &[Value]) -> Markup {
    html! {
        h2 { "Các lượt bốc thăm" }
        div.scroll {
            table.cards-sm #rounds {
                thead { tr { th.num { "Lượt" } th { "Lúc" } th.num { "Số cơ sở" } th { "Hạt giống" } th { "Mã băm dữ liệu đầu vào" } th { "Dữ liệu đầu vào" } } }
                tbody {
                    @for r in rounds {
                        @let input = format!("/console/plans/{id}/rounds/{}/input", n(r, "round"));
                        tr data-round=(n(r, "round")) {
                            td.num data-label="Lượt" { (n(r, "round")) }
                            td data-label="Lúc" { (fmt::datetime(s(r, "created_at"))) }
                            td.num data-label="Số cơ sở" { (fmt::num(n(r, "assignments"))) }
                            td data-label="Hạt giống" { code.hash { (s(r, "seed")) } }
                            td data-label="Mã băm" { code.hash { (s(r, "input_digest")) } }
                            td data-label="Dữ liệu" {
                                a href=(input) data-action="download-input" download { "Tải (bản chuẩn)" }
                                " · "
                                a href={(input) "?format=json"} download { "JSON" }
                            }
                        }
                    }
                }
            }
        }
        p.muted { "SHA-256 của tệp “bản chuẩn” chính là mã băm dữ liệu đầu vào của lượt đó; ai cũng có thể tính lại kết quả theo docs/draw.md." }
    }
}

/// The plan's page after one of its forms: 303 back to it with `ok` when
/// the use case did it, else the page again with the refusal.
async fn after<T, E: Into<PageError>>(
    ctx: Ctx,
    db: &Db,
    id: &str,
    from: &'static str,
    ok: &str,
    done: Result<T, E>,
) -> PageResult {
    match done {
        Ok(_) => Ok(ctx.redirect(&format!("/console/plans/{id}?ok={ok}"))),
        Err(e) => {
            let problem = Problem::of(e.into(), from)?;
            render(ctx, db, id, PlanQuery::default(), Some(problem)).await
        }
    }
}

/// `POST /console/plans/{id}/freeze`: a `public_beacon` plan's input is
/// frozen and the server value committed (`POST /plans/{id}/freeze`).
pub async fn freeze(f: CheckedForm, db: web::Data<Db>, id: web::Path<String>) -> PageResult {
    let CheckedForm { ctx, .. } = f;
    let done = plans::freeze(&db, ctx.user.clone(), &id).await;
    after(ctx, &db, &id, "freeze", "frozen", done).await
}

/// `POST /console/plans/{id}/draw`: `beacon_value` for a `public_beacon` plan.
pub async fn draw(f: CheckedForm, db: web::Data<Db>, id: web::Path<String>) -> PageResult {
    let CheckedForm { ctx, form } = f;
    let beacon = form.get("beacon_value").map(str::to_string);
    let done = plans::draw(
        &db,
        ctx.user.clone(),
        &id,
        plans::DrawBody::with_beacon(beacon),
    )
    .await;
    after(ctx, &db, &id, "draw", "drawn", done).await
}

/// `POST /console/plans/{id}/top-up`.
pub async fn top_up(f: CheckedForm, db: web::Data<Db>, id: web::Path<String>) -> PageResult {
    let CheckedForm { ctx, .. } = f;
    let done = plans::top_up(&db, ctx.user.clone(), &id).await;
    after(ctx, &db, &id, "top-up", "topped-up", done).await
}

/// `POST /console/plans/{id}/cancel`: `reason` (`POST /plans/{id}/cancel`).
pub async fn cancel(f: CheckedForm, db: web::Data<Db>, id: web::Path<String>) -> PageResult {
    let CheckedForm { ctx, form } = f;
    let plan_id = path_uuid(&id).map_err(|_| ApiError::NotFound)?;
    let done = async {
        let body: plans::CancelBody =
            serde_json::from_value(json!({ "reason": form.get("reason").unwrap_or("") }))
                .map_err(|e| ApiError::BadRequest(e.to_string()))?;
        plans::cancel(&db, ctx.user.clone(), plan_id, body).await
    }
    .await;
    after(ctx, &db, &id, "cancel", "cancelled", done).await
}

/// `GET /console/plans/{id}/rounds/{n}/input`: the round's input as the
/// canonical bytes its digest covers, or as JSON with `?format=json`, to
/// download (`GET /plans/{id}/rounds/{n}/input`).
pub async fn round_input(
    ctx: Ctx,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
    q: web::Query<InputQuery>,
) -> PageResult {
    let (id, n) = path.into_inner();
    let id = path_uuid(&id).map_err(|_| ApiError::NotFound)?;
    let round: i32 = match n.parse() {
        Ok(r) if r >= 1 && n.bytes().all(|b| b.is_ascii_digit()) => r,
        _ => return Err(ApiError::NotFound.into()),
    };
    let json = match q.format.as_deref() {
        None | Some("canonical") => false,
        Some("json") => true,
        Some(_) => return Err(ApiError::field("format", "must be canonical or json").into()),
    };
    let bytes = plans::round_input(&db, ctx.user.clone(), id.clone(), round, json).await?;
    let (content_type, ext) = if json {
        ("application/json", "json")
    } else {
        ("text/plain; charset=utf-8", "txt")
    };
    Ok(HttpResponse::Ok()
        .insert_header((header::CONTENT_TYPE, content_type))
        .insert_header((
            header::CONTENT_DISPOSITION,
            format!("attachment; filename=\"du-lieu-boc-tham-{id}-luot-{round}.{ext}\""),
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(bytes))
}

/// `?format=` of a round's input.
#[derive(Deserialize)]
pub struct InputQuery {
    format: Option<String>,
}

/// What one verify check is about, in Vietnamese.
fn check_vi(check: &str) -> &str {
    match check {
        "recomputed" => "Tính lại từ dữ liệu đầu vào",
        "audit_trail" => "Đối chiếu nhật ký",
        "seed_procedure" => "Quy trình xác định hạt giống",
        "status_changes" => "Thay đổi trạng thái phân công",
        other => other,
    }
}

/// A discrepancy verify found, in Vietnamese (its English detail when it
/// is not known here).
fn detail_vi(d: &str) -> String {
    const KNOWN: [(&str, &str); 17] = [
        (
            "an audited round is missing",
            "một lượt có trong nhật ký nhưng không có trong hồ sơ kế hoạch",
        ),
        (
            "cancelled, but no audited",
            "bị hủy nhưng không có việc đóng cơ sở hay hủy kế hoạch nào trong nhật ký giải thích",
        ),
        (
            "completed, but no audited inspection",
            "đã hoàn thành nhưng không có biên bản nào trong nhật ký",
        ),
        (
            "its status is not one the service writes",
            "trạng thái không phải do hệ thống ghi",
        ),
        (
            "no audited draw or top-up entry records this round",
            "nhật ký không ghi lượt bốc thăm này",
        ),
        (
            "does not hash to the frozen digest",
            "dữ liệu đầu vào lượt 1 (hạt giống bằng 0) không khớp mã băm đã chốt",
        ),
        (
            "scheduled, but no audited scheduling",
            "đã xếp lịch nhưng nhật ký không ghi việc xếp lịch",
        ),
        (
            "not frozen before the beacon's day",
            "dữ liệu không được chốt trước ngày công bố giá trị công khai",
        ),
        (
            "the plan's seed is not the one its procedure's record fixes",
            "hạt giống của kế hoạch không phải hạt giống mà hồ sơ quy trình xác định",
        ),
        (
            "seed record is not the audited one",
            "hồ sơ hạt giống khác với bản trong nhật ký",
        ),
        (
            "the recorded input cannot be read",
            "không đọc được dữ liệu đầu vào đã ghi",
        ),
        (
            "does not hash to the recorded digest",
            "dữ liệu đầu vào đã ghi không khớp mã băm đã ghi",
        ),
        (
            "the recorded input's seed is not",
            "hạt giống trong dữ liệu đầu vào khác với hạt giống của lượt và của kế hoạch",
        ),
        (
            "number of assignments is not the audited one",
            "số phân công của lượt khác với số trong nhật ký",
        ),
        ("is not the audited one", "khác với bản trong nhật ký"),
        (
            "the seed cannot be recomputed",
            "không tính lại được hạt giống từ hồ sơ quy trình",
        ),
        (
            "does not match the commitment audited at the freeze",
            "giá trị của máy chủ không khớp cam kết đã ghi khi chốt dữ liệu",
        ),
    ];
    if d.contains("the stored assignments are not the draw") {
        return "các phân công đã lưu không phải kết quả bốc thăm từ dữ liệu đầu vào đã ghi".into();
    }
    KNOWN
        .iter()
        .find(|(en, _)| d.contains(en))
        .map(|(_, vi)| (*vi).to_string())
        .unwrap_or_else(|| d.to_string())
}

/// `POST /console/plans/{id}/verify`: recomputes every round, compares it
/// with the audit trail and the seed procedure's record, and shows every
/// discrepancy (`GET /plans/{id}/verify`).
pub async fn verify(f: CheckedForm, db: web::Data<Db>, id: web::Path<String>) -> PageResult {
    let CheckedForm { ctx, .. } = f;
    let id = path_uuid(&id).map_err(|_| ApiError::NotFound)?;
    let v = match plans::verify(&db, ctx.user.clone(), id.clone()).await {
        Ok(v) => v,
        Err(e) => {
            let problem = Problem::of(e.into(), "verify")?;
            return render(ctx, &db, &id, PlanQuery::default(), Some(problem)).await;
        }
    };
    let ok = v.get("matches").and_then(Value::as_bool).unwrap_or(false);
    let yes = |k: &str| v.get(k).and_then(Value::as_bool).unwrap_or(false);
    let found = v
        .get("discrepancies")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let body = html! {
        p { a href={"/console/plans/" (id)} { "← Kế hoạch" } }
        @if ok {
            p.notice #verify-result data-matches="true" { "Khớp: tính lại từ dữ liệu đầu vào đã ghi cho đúng các phân công đã lưu, khớp với nhật ký và với quy trình xác định hạt giống." }
        } @else {
            p.warning #verify-result data-matches="false" { "KHÔNG khớp: có " (found.len()) " điểm sai lệch (liệt kê bên dưới). Cần kiểm tra ngay." }
        }
        dl.facts #verify-checks {
            dt { "Hạt giống" } dd { code.hash { (s(&v, "seed")) } }
            dt { "Mã băm dữ liệu đầu vào (lượt 1)" } dd { code.hash { (s(&v, "input_digest")) } }
            @for k in ["recomputed", "audit_trail", "seed_procedure", "status_changes"] {
                dt { (check_vi(k)) } dd data-check=(k) data-ok=(yes(k)) { @if yes(k) { span.ok { "Đạt" } } @else { span.bad { "Không đạt" } } }
            }
        }
        @if let Some(rounds) = v.get("rounds").and_then(Value::as_array) {
            h2 { "Từng lượt" }
            div.scroll {
                table.cards-sm #verify-rounds { thead { tr { th.num { "Lượt" } th { "Mã băm đầu vào" } th { "Tính lại khớp" } th { "Khớp nhật ký" } th { "Dữ liệu đầu vào" } } }
                    tbody { @for r in rounds {
                        @let input = format!("/console/plans/{id}/rounds/{}/input", n(r, "round"));
                        tr {
                            td.num data-label="Lượt" { (n(r, "round")) }
                            td data-label="Mã băm" { code.hash { (s(r, "input_digest")) } }
                            td data-label="Tính lại khớp" { @if r.get("matches").and_then(Value::as_bool).unwrap_or(false) { "Có" } @else { span.bad { "Không" } } }
                            td data-label="Khớp nhật ký" { @if r.get("audited").and_then(Value::as_bool).unwrap_or(false) { "Có" } @else { span.bad { "Không" } } }
                            td data-label="Dữ liệu" { a href=(input) data-action="download-input" download { "Tải (bản chuẩn)" } " · " a href={(input) "?format=json"} download { "JSON" } }
                        }
                    } }
                }
            }
        }
        @if !found.is_empty() {
            h2 { "Các điểm sai lệch" }
            div.scroll {
                table.cards-sm #discrepancies {
                    thead { tr { th { "Kiểm tra" } th.num { "Lượt" } th { "Phân công" } th { "Chi tiết" } } }
                    tbody { @for d in &found {
                        tr data-check=(s(d, "check")) {
                            td data-label="Kiểm tra" { (check_vi(s(d, "check"))) }
                            td.num data-label="Lượt" { @if d.get("round").is_some_and(|r| !r.is_null()) { (n(d, "round")) } }
                            td data-label="Phân công" { code { (s(d, "assignment_id")) } }
                            td data-label="Chi tiết" { (detail_vi(s(d, "detail"))) }
                        }
                    } }
                }
            }
        }
    };
    Ok(ctx.page_with(StatusCode::OK, Nav::Plans, "Kiểm chứng bốc thăm", body))
}
