//! Duyệt biên bản: the review queue, one minutes with its photos, position,
//! members, violations and versions, and the accept / return form.

use std::collections::HashMap;

use actix_web::http::header;
use actix_web::{web, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Value};

use super::format::{self as fmt};
use super::{f, n, notice, s, CheckedForm, Ctx, Nav, PageResult};
use crate::app::inspections;
use crate::db::Db;
use crate::domain::values::path_uuid;
use crate::error::ApiError;
use crate::state::AppState;

/// `?ok=` after a decision.
#[derive(Deserialize)]
pub struct Done {
    ok: Option<String>,
}

/// The flags of minutes, as badges.
fn flags(far: bool, distance: Option<f64>, skew: bool) -> Markup {
    html! {
        @if far {
            span.flag.bad title="Vị trí ghi biên bản cách xa vị trí đăng ký của cơ sở" {
                "Xa cơ sở"
                @if let Some(d) = distance { " (" (fmt::num(d.round() as i64)) " m)" }
            }
        }
        @if skew { span.flag title="Đồng hồ của thiết bị chạy nhanh hơn máy chủ" { "Lệch giờ thiết bị" } }
    }
}

/// `GET /console/review`: pending minutes, flagged first.
pub async fn queue(ctx: Ctx, db: web::Data<Db>, q: web::Query<Done>) -> PageResult {
    let (rows, total) = inspections::review_queue(&db, ctx.user.clone(), 200).await?;
    let done = match q.ok.as_deref() {
        Some("accepted") => Some("Đã chấp nhận biên bản."),
        Some("returned") => Some("Đã trả lại biên bản kèm ý kiến."),
        _ => None,
    };
    let body = html! {
        (notice(done))
        p { "Đang chờ duyệt: " strong #pending-count { (fmt::num(total)) } " biên bản"
            @if total > rows.len() as i64 { " (hiện " (fmt::num(rows.len() as i64)) " biên bản đầu tiên)" } "." }
        @if rows.is_empty() {
            p.muted { "Không có biên bản nào chờ duyệt trong địa bàn của bạn." }
        } @else {
            div.scroll {
                table.cards-sm #review-queue {
                    thead { tr { th { "Cơ sở" } th { "Đội" } th { "Kết thúc lúc" } th { "Kết quả" } th.num { "Vi phạm" } th { "Cảnh báo" } th { "Phiên bản" } } }
                    tbody {
                        @for r in &rows {
                            tr data-inspection=(r.id) {
                                td data-label="Cơ sở" { a href={"/console/inspections/" (r.id)} { (r.establishment_name) } }
                                td data-label="Đội" { (r.team_name) }
                                td data-label="Kết thúc lúc" { (fmt::utc(&r.finished_at)) }
                                td data-label="Kết quả" { (fmt::outcome(&r.outcome)) }
                                td.num data-label="Vi phạm" { (fmt::num(i64::from(r.violation_count))) }
                                td data-label="Cảnh báo" { (flags(r.far_from_site, r.distance_m, r.clock_skew)) }
                                td data-label="Phiên bản" { (r.current_version) }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(ctx.page(Nav::Review, "Duyệt biên bản", body))
}

/// The rows compared across versions: (label, value of one version).
fn version_rows(v: &Value, names: &HashMap<String, String>) -> Vec<(&'static str, String)> {
    let loc = v.get("location").filter(|l| !l.is_null());
    let members: Vec<String> = v
        .get("members_present")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|id| names.get(id).cloned().unwrap_or_else(|| id.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let violations: Vec<String> = v
        .get("violations")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|x| {
                    let mut t = format!("{} – {}", s(x, "code"), fmt::sanction(s(x, "sanction")));
                    if let Some(fine) = x.get("fine_vnd").and_then(Value::as_i64) {
                        t.push_str(&format!(" {}", fmt::vnd(fine)));
                    }
                    if !s(x, "description").is_empty() {
                        t.push_str(&format!(" ({})", s(x, "description")));
                    }
                    t
                })
                .collect()
        })
        .unwrap_or_default();
    vec![
        ("Lý do sửa", s(v, "reason").to_string()),
        ("Bắt đầu", fmt::datetime(s(v, "started_at"))),
        ("Kết thúc", fmt::datetime(s(v, "finished_at"))),
        (
            "Vị trí",
            loc.map(|l| format!("{:.5}, {:.5}", f(l, "latitude"), f(l, "longitude")))
                .unwrap_or_default(),
        ),
        ("Kết quả", fmt::outcome(s(v, "outcome")).to_string()),
        ("Thành viên có mặt", members.join(", ")),
        ("Vi phạm", violations.join("; ")),
        ("Ghi chú", s(v, "notes").to_string()),
    ]
}

/// `GET /console/inspections/{id}`.
pub async fn inspection(
    ctx: Ctx,
    db: web::Data<Db>,
    id: web::Path<String>,
    q: web::Query<Done>,
) -> PageResult {
    let id = path_uuid(&id).map_err(|_| ApiError::NotFound)?;
    let dto = super::json(&inspections::get(&db, ctx.user.clone(), id.clone()).await?)?;
    let est = crate::app::establishments::get(
        &db,
        ctx.user.clone(),
        s(&dto, "establishment_id").to_string(),
    )
    .await
    .ok()
    .map(|e| super::json(&e))
    .transpose()?;
    let team = crate::app::teams::get(&db, ctx.user.clone(), s(&dto, "team_id").to_string())
        .await
        .ok()
        .map(|t| super::json(&t))
        .transpose()?;
    let names: HashMap<String, String> = team
        .as_ref()
        .and_then(|t| t.get("members"))
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .map(|m| {
                    (
                        s(m, "user_id").to_string(),
                        format!("{} ({})", s(m, "full_name"), fmt::agency(s(m, "agency"))),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let versions = if n(&dto, "version") > 1 {
        super::json(&inspections::versions(&db, ctx.user.clone(), id.clone()).await?)?
            .get("items")
            .cloned()
            .unwrap_or(json!([]))
    } else {
        json!([])
    };
    let types: HashMap<String, (String, String)> = crate::app::violation_types::list(&db)
        .await?
        .iter()
        .filter_map(|t| super::json(t).ok())
        .map(|t| {
            (
                s(&t, "code").to_string(),
                (s(&t, "title").to_string(), s(&t, "legal_basis").to_string()),
            )
        })
        .collect();
    let review = dto.get("review").cloned().unwrap_or(Value::Null);
    let fl = dto.get("flags").cloned().unwrap_or(Value::Null);
    let far = fl
        .get("far_from_establishment")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let skew = fl
        .get("clock_skew")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let distance = fl.get("distance_m").and_then(Value::as_f64);
    let loc = dto.get("location").filter(|l| !l.is_null());
    let photos: Vec<String> = dto
        .get("attachments")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    let members: Vec<String> = dto
        .get("members_present")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(|m| names.get(m).cloned().unwrap_or_else(|| m.to_string()))
                .collect()
        })
        .unwrap_or_default();
    let violations = dto
        .get("violations")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let total_fine: i64 = violations
        .iter()
        .filter_map(|v| v.get("fine_vnd").and_then(Value::as_i64))
        .sum();
    let done = match q.ok.as_deref() {
        Some("accepted") => Some("Đã chấp nhận biên bản."),
        Some("returned") => Some("Đã trả lại biên bản kèm ý kiến."),
        _ => None,
    };
    let est_name = est
        .as_ref()
        .map(|e| s(e, "name").to_string())
        .unwrap_or_default();
    let body = html! {
        (notice(done))
        p { a href="/console/review" { "← Danh sách chờ duyệt" } " · "
            a href={"/console/inspections/" (id) "/bien-ban.pdf"} data-action="bien-ban-pdf" { "Tải biên bản (PDF)" } }
        @if far || skew {
            p.warning role="alert" { "Cần lưu ý: " (flags(far, distance, skew)) }
        }
        div.grid2 {
            section {
                h2 { "Cơ sở" }
                @if let Some(e) = &est {
                    dl.facts {
                        dt { "Tên" } dd { a href={"/console/establishments/" (s(e, "id"))} { (s(e, "name")) } }
                        dt { "Số giấy phép" } dd { (s(e, "licence_no")) }
                        dt { "Loại hình" } dd { (fmt::business_type(s(e, "business_type"))) }
                        dt { "Địa chỉ" } dd { (s(e, "address")) }
                        dt { "Chủ cơ sở" } dd { (s(e, "owner_name")) }
                    }
                }
                h2 { "Biên bản" }
                dl.facts {
                    dt { "Đội" } dd { (team.as_ref().map(|t| s(t, "name")).unwrap_or("")) }
                    dt { "Bắt đầu" } dd { (fmt::datetime(s(&dto, "started_at"))) }
                    dt { "Kết thúc" } dd { (fmt::datetime(s(&dto, "finished_at"))) }
                    dt { "Nhận lúc" } dd { (fmt::datetime(s(&dto, "received_at"))) }
                    dt { "Kết quả" } dd { (fmt::outcome(s(&dto, "outcome"))) }
                    dt { "Phiên bản" } dd { (n(&dto, "version")) }
                    dt { "Trạng thái duyệt" } dd #review-status data-status=(s(&review, "status")) { (fmt::review_status(s(&review, "status")))
                        @if !s(&review, "comment").is_empty() { " – " (s(&review, "comment")) } }
                    dt { "Vị trí" } dd {
                        @if let Some(l) = loc {
                            (format!("{:.5}, {:.5}", f(l, "latitude"), f(l, "longitude")))
                            @if let Some(a) = l.get("accuracy_m").and_then(Value::as_f64) { " (±" (fmt::num(a.round() as i64)) " m)" }
                            " · "
                            a href=(format!("https://www.openstreetmap.org/?mlat={0}&mlon={1}#map=18/{0}/{1}", f(l, "latitude"), f(l, "longitude"))) rel="noopener" target="_blank" { "Xem bản đồ" }
                            @if let Some(d) = distance { br; span.muted { "Cách vị trí đăng ký " (fmt::num(d.round() as i64)) " m" } }
                        } @else { span.muted { "Không có" } }
                    }
                    dt { "Thành viên có mặt" } dd { @for m in &members { (m) br; } }
                    dt { "Ghi chú" } dd { (s(&dto, "notes")) }
                }
            }
            section {
                h2 { "Vi phạm" }
                @if violations.is_empty() { p.muted { "Không ghi nhận vi phạm." } } @else {
                    table.cards-sm #violations {
                        thead { tr { th { "Hành vi vi phạm" } th { "Hình thức xử lý" } th.num { "Tiền phạt" } } }
                        tbody {
                            @for v in &violations {
                                tr {
                                    td data-label="Hành vi" {
                                        strong { (s(v, "code")) }
                                        @if let Some((title, basis)) = types.get(s(v, "code")) { " " (title) br; span.muted { (basis) } }
                                        @if !s(v, "description").is_empty() { br; (s(v, "description")) }
                                    }
                                    td data-label="Xử lý" { (fmt::sanction(s(v, "sanction"))) }
                                    td.num data-label="Tiền phạt" { @if let Some(x) = v.get("fine_vnd").and_then(Value::as_i64) { (fmt::vnd(x)) } }
                                }
                            }
                        }
                        tfoot { tr { th colspan="2" { "Tổng tiền phạt" } th.num { (fmt::vnd(total_fine)) } } }
                    }
                }
                h2 { "Ảnh chụp" }
                @if photos.is_empty() { p.muted { "Không có ảnh." } } @else {
                    div.photos {
                        @for sha in &photos {
                            a href={"/console/inspections/" (id) "/photos/" (sha)} {
                                img src={"/console/inspections/" (id) "/photos/" (sha)} alt={"Ảnh biên bản " (est_name)} loading="lazy";
                            }
                        }
                    }
                }
                h2 { "Duyệt" }
                form.stack method="post" action={"/console/inspections/" (id)} #review-form {
                    (ctx.csrf_field())
                    input type="hidden" name="version" value=(n(&dto, "version"));
                    fieldset {
                        legend { "Quyết định" }
                        label.check { input type="radio" name="decision" value="accepted" required; "Chấp nhận" }
                        label.check { input type="radio" name="decision" value="returned"; "Trả lại để sửa" }
                    }
                    label { "Ý kiến (bắt buộc khi trả lại)" textarea name="comment" {} }
                    button type="submit" data-action="review" { "Ghi quyết định" }
                }
            }
        }
        @if let Some(all) = versions.as_array().filter(|a| a.len() > 1) {
            h2 { "Các phiên bản (biên bản đã sửa)" }
            div.scroll {
                table #versions {
                    thead { tr { th { "" } @for v in all { th { "Phiên bản " (n(v, "version")) } } } }
                    tbody {
                        @let cols: Vec<Vec<(&str, String)>> = all.iter().map(|v| version_rows(v, &names)).collect();
                        @for (i, (label, _)) in cols[0].iter().enumerate() {
                            tr {
                                th { (label) }
                                @for (j, col) in cols.iter().enumerate() {
                                    @let changed = j > 0 && cols[j - 1][i].1 != col[i].1;
                                    td class=[changed.then_some("diff")] { (col[i].1) }
                                }
                            }
                        }
                    }
                }
            }
        }
    };
    Ok(ctx.page(
        Nav::Review,
        &format!("Biên bản kiểm tra – {est_name}"),
        body,
    ))
}

/// `POST /console/inspections/{id}`: `decision` (accepted, returned),
/// `comment`, `version` (the version shown; a newer one is 412).
pub async fn decide(f: CheckedForm, db: web::Data<Db>, id: web::Path<String>) -> PageResult {
    let CheckedForm { ctx, form } = f;
    let decision = form.get("decision").unwrap_or("").to_string();
    let body: inspections::ReviewBody = serde_json::from_value(json!({
        "decision": decision,
        "comment": form.get("comment"),
    }))
    .map_err(|e| ApiError::field("decision", e.to_string()))?;
    let expected = match form.get("version") {
        None => Ok(None),
        Some(v) => v
            .parse::<i32>()
            .map(Some)
            .map_err(|_| ApiError::field("version", "must be an integer")),
    };
    inspections::review(&db, ctx.user.clone(), &id, expected, body).await?;
    Ok(ctx.redirect(&format!("/console/inspections/{id}?ok={decision}")))
}

/// `GET /console/inspections/{id}/photos/{sha}`: a photo of minutes the
/// caller may read.
pub async fn photo(
    ctx: Ctx,
    db: web::Data<Db>,
    state: web::Data<AppState>,
    path: web::Path<(String, String)>,
) -> PageResult {
    let (id, sha) = path.into_inner();
    let id = path_uuid(&id).map_err(|_| ApiError::NotFound)?;
    if sha.len() != 64 || !sha.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(ApiError::NotFound.into());
    }
    let (kind, bytes) = inspections::read_photo(
        &db,
        ctx.user.clone(),
        &state.settings.attachments_dir,
        id,
        sha.to_ascii_lowercase(),
    )
    .await?;
    Ok(HttpResponse::Ok()
        .content_type(kind)
        .insert_header((header::CACHE_CONTROL, "private, max-age=86400"))
        .body(bytes))
}

/// `GET /console/inspections/{id}/bien-ban.pdf`: the printed minutes, from
/// the same use case as the API's `GET /inspections/{id}/bien-ban.pdf` (404
/// outside the caller's area).
pub async fn bien_ban(ctx: Ctx, db: web::Data<Db>, id: web::Path<String>) -> PageResult {
    let id = path_uuid(&id).map_err(|_| ApiError::NotFound)?;
    let name = format!("inline; filename=\"bien-ban-{id}.pdf\"");
    let body = crate::app::documents::bien_ban_pdf(&db, ctx.user.clone(), id).await?;
    Ok(HttpResponse::Ok()
        .content_type("application/pdf")
        .insert_header((header::CONTENT_DISPOSITION, name))
        .insert_header((header::CACHE_CONTROL, "private, no-store"))
        .body(body))
}
