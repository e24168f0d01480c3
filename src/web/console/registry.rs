//! Cơ sở kinh doanh: search (without diacritics), filters, detail with its
//! history and inspections, edit (a stale edit is refused), close, and the
//! CSV/XLSX import with its row-error file.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use maud::{html, Markup};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::format::{self as fmt, BUSINESS_TYPES};
use super::{
    json as to_json, link_with, n, notice, s, CheckedForm, Ctx, Fields, Nav, PageError, PageResult,
};
use crate::app::establishments as est;
use crate::db::Db;
use crate::domain::text::csv_text_cell;
use crate::domain::values::path_uuid;
use crate::error::ApiError;

/// Filters of the list, named as the API's.
#[derive(Deserialize, Default)]
pub struct ListQuery {
    q: Option<String>,
    org_unit: Option<String>,
    business_type: Option<String>,
    status: Option<String>,
    cursor: Option<String>,
}

/// The districts (or communes) of the caller's area, for the unit filter.
async fn units_of_area(db: &Db, ctx: &Ctx) -> Vec<(String, String)> {
    let Some(home) = ctx.user.org_unit_code.clone() else {
        // An admin without a unit: the provinces' districts would be
        // hundreds; offer the provinces.
        let q = serde_json::from_value(json!({"level": "province", "limit": 500}));
        return match q {
            Ok(q) => crate::app::org_units::list(db, ctx.user.clone(), q)
                .await
                .map(|p| p.items.into_iter().map(|u| (u.code, u.name)).collect())
                .unwrap_or_default(),
            Err(_) => vec![],
        };
    };
    let mut out = vec![];
    if let Ok(q) = serde_json::from_value(json!({"parent": home, "limit": 500})) {
        if let Ok(p) = crate::app::org_units::list(db, ctx.user.clone(), q).await {
            out = p.items.into_iter().map(|u| (u.code, u.name)).collect();
        }
    }
    out
}

fn opt(v: &Option<String>) -> &str {
    v.as_deref().map(str::trim).unwrap_or("")
}

/// `GET /console/establishments?q=&org_unit=&business_type=&status=&cursor=`.
pub async fn list(ctx: Ctx, db: web::Data<Db>, q: web::Query<ListQuery>) -> PageResult {
    let mut filters = Map::new();
    for (k, v) in [
        ("q", &q.q),
        ("org_unit", &q.org_unit),
        ("business_type", &q.business_type),
        ("status", &q.status),
        ("cursor", &q.cursor),
    ] {
        if !opt(v).is_empty() {
            filters.insert(k.into(), json!(opt(v)));
        }
    }
    filters.insert("limit".into(), json!(50));
    let params: est::ListParams = serde_json::from_value(Value::Object(filters))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let page = est::list(&db, ctx.user.clone(), params).await?;
    let units = units_of_area(&db, &ctx).await;
    let next = page.next_cursor.clone();
    let items = to_json(&page.items)?;
    let body = html! {
        p { a href="/console/establishments/import" data-action="import" { "Nhập danh sách từ tệp CSV hoặc XLSX" } }
        form.inline method="get" action="/console/establishments" role="search" {
            label { "Tìm theo tên hoặc số giấy phép (gõ có hoặc không dấu)" input type="search" name="q" value=(opt(&q.q)); }
            label { "Địa bàn"
                select name="org_unit" {
                    option value="" { "Tất cả" }
                    @for (code, name) in &units { option value=(code) selected[opt(&q.org_unit) == code] { (name) } }
                }
            }
            label { "Loại hình"
                select name="business_type" {
                    option value="" { "Tất cả" }
                    @for (code, name) in BUSINESS_TYPES { option value=(code) selected[opt(&q.business_type) == code] { (name) } }
                }
            }
            label { "Trạng thái"
                select name="status" {
                    option value="" { "Tất cả" }
                    option value="active" selected[opt(&q.status) == "active"] { "Đang hoạt động" }
                    option value="closed" selected[opt(&q.status) == "closed"] { "Đã ngừng hoạt động" }
                }
            }
            button type="submit" data-action="search" { "Tìm" }
        }
        div.scroll {
            table.cards-sm #establishments {
                thead { tr { th { "Tên cơ sở" } th { "Số giấy phép" } th { "Loại hình" } th { "Địa chỉ" } th { "Trạng thái" } } }
                tbody {
                    @for e in items.as_array().into_iter().flatten() {
                        tr {
                            td data-label="Tên" { a href={"/console/establishments/" (s(e, "id"))} { (s(e, "name")) } }
                            td data-label="Giấy phép" { (s(e, "licence_no")) }
                            td data-label="Loại hình" { (fmt::business_type(s(e, "business_type"))) }
                            td data-label="Địa chỉ" { (s(e, "address")) }
                            td data-label="Trạng thái" { (fmt::establishment_status(s(e, "status"))) }
                        }
                    }
                }
            }
        }
        @if items.as_array().is_none_or(|a| a.is_empty()) { p.muted { "Không có cơ sở nào khớp." } }
        @if let Some(c) = next {
            p { a href=(link_with("/console/establishments", &[("q", opt(&q.q)), ("org_unit", opt(&q.org_unit)), ("business_type", opt(&q.business_type)), ("status", opt(&q.status)), ("cursor", &c)])) { "Trang sau →" } }
        }
    };
    Ok(ctx.page(Nav::Registry, "Cơ sở kinh doanh", body))
}

/// `?ok=` after a form.
#[derive(Deserialize)]
pub struct Done {
    ok: Option<String>,
}

fn edit_form(ctx: &Ctx, e: &Value) -> Markup {
    let id = s(e, "id");
    let num = |k: &str| {
        e.get(k)
            .and_then(Value::as_f64)
            .map(|x| x.to_string())
            .unwrap_or_default()
    };
    html! {
        form.stack method="post" action={"/console/establishments/" (id)} #edit-form {
            (ctx.csrf_field())
            input type="hidden" name="version" value=(n(e, "version"));
            label { "Tên cơ sở" input name="name" required value=(s(e, "name")); }
            label { "Số giấy phép kinh doanh" input name="licence_no" required value=(s(e, "licence_no")); }
            label { "Loại hình kinh doanh"
                select name="business_type" {
                    @for (code, name) in BUSINESS_TYPES { option value=(code) selected[s(e, "business_type") == code] { (name) } }
                }
            }
            label { "Mã đơn vị hành chính (xã/phường)" input name="org_unit_code" required value=(s(e, "org_unit_code")); }
            label { "Địa chỉ" input name="address" required value=(s(e, "address")); }
            label { "Chủ cơ sở" input name="owner_name" value=(s(e, "owner_name")); }
            label { "Điện thoại" input name="phone" value=(s(e, "phone")); }
            label { "Vĩ độ" input name="latitude" inputmode="decimal" value=(num("latitude")); }
            label { "Kinh độ" input name="longitude" inputmode="decimal" value=(num("longitude")); }
            label.check { input type="checkbox" name="reinspect" value="true" checked[e.get("reinspect").and_then(Value::as_bool).unwrap_or(false)]; "Cần tái kiểm tra" }
            button type="submit" data-action="save" { "Lưu thay đổi" }
        }
    }
}

/// `GET /console/establishments/{id}`: details, edit and close forms, its
/// inspections and its history.
pub async fn detail(
    ctx: Ctx,
    db: web::Data<Db>,
    id: web::Path<String>,
    q: web::Query<Done>,
) -> PageResult {
    let id = path_uuid(&id).map_err(|_| ApiError::NotFound)?;
    let e = to_json(&est::get(&db, ctx.user.clone(), id.clone()).await?)?;
    let inspections = {
        let p: crate::app::inspections::ListParams =
            serde_json::from_value(json!({"establishment_id": id, "limit": 50}))
                .map_err(|e| ApiError::Internal(e.to_string()))?;
        to_json(
            &crate::app::inspections::list(&db, ctx.user.clone(), p)
                .await?
                .items,
        )?
    };
    let history =
        crate::app::audit::establishment_history(&db, ctx.user.clone(), id.clone(), 50).await?;
    let closed = s(&e, "status") == "closed";
    let done = match q.ok.as_deref() {
        Some("saved") => Some("Đã lưu thay đổi."),
        Some("closed") => Some("Đã ghi nhận cơ sở ngừng hoạt động."),
        _ => None,
    };
    let body = html! {
        (notice(done))
        p { a href="/console/establishments" { "← Danh sách cơ sở" } }
        div.grid2 {
            section {
                dl.facts {
                    dt { "Số giấy phép" } dd { (s(&e, "licence_no")) }
                    dt { "Loại hình" } dd { (fmt::business_type(s(&e, "business_type"))) }
                    dt { "Địa chỉ" } dd { (s(&e, "address")) }
                    dt { "Chủ cơ sở" } dd { (s(&e, "owner_name")) }
                    dt { "Trạng thái" } dd #status { (fmt::establishment_status(s(&e, "status")))
                        @if closed { " từ " (fmt::datetime(s(&e, "closed_on"))) " – " (s(&e, "closed_reason")) } }
                    dt { "Phiên bản" } dd { (n(&e, "version")) }
                    dt { "Cập nhật" } dd { (fmt::datetime(s(&e, "updated_at"))) }
                }
                h2 { "Các lần kiểm tra" }
                @if inspections.as_array().is_none_or(|a| a.is_empty()) { p.muted { "Chưa có biên bản." } } @else {
                    table.cards-sm {
                        thead { tr { th { "Ngày" } th { "Kết quả" } th.num { "Vi phạm" } th { "Duyệt" } } }
                        tbody {
                            @for i in inspections.as_array().into_iter().flatten() {
                                tr {
                                    td data-label="Ngày" { a href={"/console/inspections/" (s(i, "id"))} { (fmt::datetime(s(i, "finished_at"))) } }
                                    td data-label="Kết quả" { (fmt::outcome(s(i, "outcome"))) }
                                    td.num data-label="Vi phạm" { (i.get("violations").and_then(Value::as_array).map_or(0, Vec::len)) }
                                    td data-label="Duyệt" { (fmt::review_status(i.get("review").map(|r| s(r, "status")).unwrap_or(""))) }
                                }
                            }
                        }
                    }
                }
                h2 { "Lịch sử thay đổi" }
                @if history.is_empty() { p.muted { "Chưa có thay đổi." } } @else {
                    table.cards-sm {
                        thead { tr { th { "Thời điểm" } th { "Thao tác" } th { "Người thực hiện" } } }
                        tbody {
                            @for h in &history {
                                tr { td data-label="Thời điểm" { (fmt::utc(&h.at)) } td data-label="Thao tác" { (h.action) } td data-label="Người" { (h.actor) } }
                            }
                        }
                    }
                }
            }
            section {
                @if !closed {
                    h2 { "Sửa thông tin" }
                    (edit_form(&ctx, &e))
                    h2 { "Ngừng hoạt động" }
                    form.stack method="post" action={"/console/establishments/" (id) "/close"} data-confirm="Ghi nhận cơ sở này đã ngừng hoạt động? Các phân công chưa thực hiện sẽ bị hủy." {
                        (ctx.csrf_field())
                        input type="hidden" name="version" value=(n(&e, "version"));
                        label { "Ngày ngừng hoạt động" input type="date" name="closed_on" required value=(fmt::today().to_string()); }
                        label { "Lý do" input name="reason" required; }
                        button.danger type="submit" data-action="close" { "Ghi nhận ngừng hoạt động" }
                    }
                }
            }
        }
    };
    Ok(ctx.page(Nav::Registry, s(&e, "name"), body))
}

/// The version a form was shown at (its `If-Match`).
fn shown_version(form: &Fields) -> Result<Option<i32>, ApiError> {
    form.get("version")
        .map(|v| {
            v.parse::<i32>()
                .map_err(|_| ApiError::field("version", "must be an integer"))
        })
        .transpose()
}

/// `POST /console/establishments/{id}`: the edit form, as a PATCH at the
/// version shown (a record changed since is refused, 412).
pub async fn edit(f: CheckedForm, db: web::Data<Db>, id: web::Path<String>) -> PageResult {
    let CheckedForm { ctx, form } = f;
    let mut patch = Map::new();
    for k in [
        "licence_no",
        "name",
        "business_type",
        "org_unit_code",
        "address",
    ] {
        if let Some(v) = form.get(k) {
            patch.insert(k.into(), json!(v));
        }
    }
    for k in ["owner_name", "phone"] {
        patch.insert(k.into(), form.get(k).map_or(Value::Null, |v| json!(v)));
    }
    for k in ["latitude", "longitude"] {
        let v = match form.get(k) {
            None => Value::Null,
            Some(x) => json!(x
                .replace(',', ".")
                .parse::<f64>()
                .map_err(|_| ApiError::field(k, "must be a number"))?),
        };
        patch.insert(k.into(), v);
    }
    patch.insert(
        "reinspect".into(),
        json!(form.get("reinspect") == Some("true")),
    );
    let body: est::PatchBody = serde_json::from_value(Value::Object(patch))
        .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let expected = shown_version(&form)?;
    let id = path_uuid(&id).map_err(|_| ApiError::NotFound)?;
    est::patch(&db, ctx.user.clone(), id.clone(), expected, body).await?;
    Ok(ctx.redirect(&format!("/console/establishments/{id}?ok=saved")))
}

/// `POST /console/establishments/{id}/close`: `closed_on`, `reason`, `version`.
pub async fn close(f: CheckedForm, db: web::Data<Db>, id: web::Path<String>) -> PageResult {
    let CheckedForm { ctx, form } = f;
    let body: est::CloseBody = serde_json::from_value(json!({
        "closed_on": form.get("closed_on").unwrap_or(""),
        "reason": form.get("reason").unwrap_or(""),
    }))
    .map_err(|_| ApiError::field("closed_on", "must be a date"))?;
    let expected = shown_version(&form)?;
    let id = path_uuid(&id).map_err(|_| ApiError::NotFound)?;
    est::close(&db, ctx.user.clone(), id.clone(), expected, body).await?;
    Ok(ctx.redirect(&format!("/console/establishments/{id}?ok=closed")))
}

fn upload_form(ctx: &Ctx) -> Markup {
    html! {
        form.stack method="post" action="/console/establishments/import" enctype="multipart/form-data" data-progress #import-form {
            (ctx.csrf_field())
            label { "Tệp danh sách cơ sở (CSV hoặc XLSX; dòng đầu là tiêu đề: licence_no, name, business_type, org_unit_code, address, owner_name, phone, latitude, longitude)"
                input type="file" name="file" accept=".csv,.xlsx,text/csv,application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" required; }
            progress #import-progress max="1" value="0" hidden {}
            button type="submit" data-action="import" { "Nhập danh sách" }
        }
    }
}

fn import_form_page(ctx: &Ctx) -> HttpResponse {
    ctx.page(
        Nav::Registry,
        "Nhập danh sách cơ sở",
        html! {
            p { a href="/console/establishments" { "← Danh sách cơ sở" } }
            p { "Dòng hợp lệ được ghi; dòng lỗi được liệt kê và có thể tải về để sửa. Cơ sở trùng số giấy phép được cập nhật." }
            (upload_form(ctx))
        },
    )
}

/// `GET /console/establishments/import`.
pub async fn import_form(ctx: Ctx) -> HttpResponse {
    import_form_page(&ctx)
}

/// One part of a form: its name, its file name, its bytes.
pub(super) type Part = (String, Option<String>, Vec<u8>);

/// The parts of a `multipart/form-data` body.
pub(super) fn multipart(content_type: &str, body: &[u8]) -> Option<Vec<Part>> {
    let boundary = content_type
        .split(';')
        .map(str::trim)
        .find_map(|p| p.strip_prefix("boundary="))?
        .trim_matches('"');
    let delim = format!("--{boundary}");
    let d = delim.as_bytes();
    let find = |hay: &[u8], from: usize, needle: &[u8]| -> Option<usize> {
        hay.get(from..)?
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|p| p + from)
    };
    let mut parts = vec![];
    let mut pos = find(body, 0, d)? + d.len();
    loop {
        if body.get(pos..pos + 2) == Some(b"--") {
            break;
        }
        let head_start = pos + 2; // CRLF after the delimiter
        let head_end = find(body, head_start, b"\r\n\r\n")?;
        let head = String::from_utf8_lossy(&body[head_start..head_end]).to_string();
        let data_start = head_end + 4;
        let next = find(body, data_start, format!("\r\n{delim}").as_bytes())?;
        let disposition = head
            .lines()
            .find(|l| l.to_ascii_lowercase().starts_with("content-disposition"))?
            .to_string();
        let attr = |key: &str| -> Option<String> {
            disposition.split(';').map(str::trim).find_map(|p| {
                p.strip_prefix(&format!("{key}="))
                    .map(|v| v.trim_matches('"').to_string())
            })
        };
        parts.push((
            attr("name")?,
            attr("filename"),
            body[data_start..next].to_vec(),
        ));
        pos = next + 2 + d.len();
    }
    Some(parts)
}

/// The row errors as a CSV file (`row,field,message`), UTF-8 with a BOM so
/// that spreadsheet programs show the diacritics.
fn errors_csv(errors: &[crate::domain::imports::RowError]) -> String {
    let mut w = csv::Writer::from_writer(vec![]);
    let _ = w.write_record(["row", "field", "message"]);
    for e in errors {
        let field = e.field.clone().unwrap_or_default();
        let _ = w.write_record([
            e.row.to_string(),
            csv_text_cell(&field).into_owned(),
            csv_text_cell(&e.message).into_owned(),
        ]);
    }
    let bytes = w.into_inner().unwrap_or_default();
    format!("\u{feff}{}", String::from_utf8_lossy(&bytes))
}

/// `POST /console/establishments/import` (multipart: `csrf_token`, `file`).
pub async fn import(
    req: HttpRequest,
    mut payload: web::Payload,
    ctx: Ctx,
    db: web::Data<Db>,
) -> PageResult {
    let body =
        crate::api::extract::read_body(&req, &mut payload, crate::api::extract::IMPORT_LIMIT)
            .await?;
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let parts =
        multipart(ct, &body).ok_or_else(|| ApiError::field("file", "send the form with a file"))?;
    let token: Vec<(String, String)> = parts
        .iter()
        .filter(|(n, _, _)| n == "csrf_token")
        .map(|(n, _, v)| (n.clone(), String::from_utf8_lossy(v).to_string()))
        .collect();
    ctx.check(&Fields(token))?;
    let (_, filename, bytes) = parts
        .into_iter()
        .find(|(n, _, _)| n == "file")
        .ok_or_else(|| ApiError::field("file", "choose a CSV or XLSX file"))?;
    if bytes.is_empty() {
        return Err(PageError::Api(ApiError::field("file", "the file is empty")));
    }
    let is_xlsx = bytes.starts_with(b"PK\x03\x04")
        || filename
            .as_deref()
            .is_some_and(|f| f.to_ascii_lowercase().ends_with(".xlsx"));
    let summary = est::import(&db, ctx.user.clone(), bytes, is_xlsx).await?;
    let csv_text = errors_csv(&summary.errors);
    let body = html! {
        p { a href="/console/establishments" { "← Danh sách cơ sở" } }
        div.cards #import-summary {
            div.card { div.big #created { (fmt::num(summary.created as i64)) } "cơ sở mới" }
            div.card { div.big #updated { (fmt::num(summary.updated as i64)) } "cơ sở cập nhật" }
            div.card { div.big { (fmt::num(summary.unchanged as i64)) } "không đổi" }
            div.card { div.big.bad #error-count { (fmt::num(summary.errors.len() as i64)) } "dòng lỗi" }
        }
        @if !summary.errors.is_empty() {
            h2 { "Dòng lỗi" }
            form method="post" action="/console/establishments/import/errors.csv" {
                (ctx.csrf_field())
                textarea name="errors_csv" hidden { (csv_text) }
                button type="submit" data-action="download-errors" { "Tải tệp dòng lỗi (CSV)" }
            }
            div.scroll {
                table.cards-sm #import-errors {
                    thead { tr { th.num { "Dòng" } th { "Cột" } th { "Lỗi" } } }
                    tbody { @for e in &summary.errors { tr { td.num data-label="Dòng" { (e.row) } td data-label="Cột" { (e.field.clone().unwrap_or_default()) } td data-label="Lỗi" { (e.message) } } } }
                }
            }
        }
        h2 { "Nhập tệp khác" }
        (upload_form(&ctx))
    };
    Ok(ctx.page(Nav::Registry, "Kết quả nhập danh sách", body))
}

/// `POST /console/establishments/import/errors.csv`: echoes the row errors
/// of the import just shown as a file (nothing is kept on the server).
pub async fn import_errors(f: CheckedForm<{ 4 * 1024 * 1024 }>) -> PageResult {
    let CheckedForm { form, .. } = f;
    let text = form
        .0
        .iter()
        .find(|(k, _)| k == "errors_csv")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            header::CONTENT_DISPOSITION,
            "attachment; filename=\"dong-loi-nhap-co-so.csv\"",
        ))
        .insert_header((header::CACHE_CONTROL, "no-store"))
        .body(text))
}
