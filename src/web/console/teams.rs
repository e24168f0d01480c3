//! Đội kiểm tra and Tài khoản: teams with their members, agencies and
//! leader; adding and removing members; creating accounts, disabling them,
//! resetting passwords.

use actix_web::web;
use maud::html;
use serde::Deserialize;
use serde_json::{json, Value};

use super::format::{self as fmt, AGENCIES};
use super::{json as to_json, n, notice, s, CheckedForm, Ctx, Nav, PageResult};
use crate::app::{teams, users};
use crate::db::Db;
use crate::domain::values::path_uuid;
use crate::error::ApiError;

/// `?ok=` after a form.
#[derive(Deserialize)]
pub struct Done {
    ok: Option<String>,
}

fn done_text(ok: Option<&str>) -> Option<&'static str> {
    match ok {
        Some("created") => Some("Đã tạo."),
        Some("added") => Some("Đã thêm thành viên."),
        Some("removed") => Some("Đã bỏ thành viên khỏi đội."),
        Some("disabled") => Some("Đã khóa tài khoản."),
        Some("enabled") => Some("Đã mở khóa tài khoản."),
        Some("password") => {
            Some("Đã đặt lại mật khẩu; các phiên đăng nhập cũ của tài khoản này bị thu hồi.")
        }
        _ => None,
    }
}

async fn all_teams(db: &Db, ctx: &Ctx) -> Result<Value, ApiError> {
    let q: teams::ListParams = serde_json::from_value(json!({"limit": 500}))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    to_json(&teams::list(db, ctx.user.clone(), q).await?.items)
        .map_err(|_| ApiError::Internal("json".into()))
}

/// `GET /console/teams`.
pub async fn list(ctx: Ctx, db: web::Data<Db>, q: web::Query<Done>) -> PageResult {
    let items = all_teams(&db, &ctx).await?;
    let body = html! {
        (notice(done_text(q.ok.as_deref())))
        div.scroll {
            table.cards-sm #teams {
                thead { tr { th { "Đội" } th { "Cấp" } th { "Địa bàn" } } }
                tbody {
                    @for t in items.as_array().into_iter().flatten() {
                        tr {
                            td data-label="Đội" { a href={"/console/teams/" (s(t, "id"))} { (s(t, "name")) } }
                            td data-label="Cấp" { (fmt::level(s(t, "level"))) }
                            td data-label="Địa bàn" { (s(t, "org_unit_code")) }
                        }
                    }
                }
            }
        }
        h2 { "Thành lập đội" }
        form.stack method="post" action="/console/teams" {
            (ctx.csrf_field())
            label { "Tên đội" input name="name" required placeholder="Đội kiểm tra liên ngành 178 huyện …"; }
            label { "Cấp" select name="level" { option value="province" { "Cấp tỉnh" } option value="district" selected { "Cấp huyện" } option value="commune" { "Cấp xã" } } }
            label { "Mã địa bàn phụ trách" input name="org_unit_code" required; }
            button type="submit" data-action="create-team" { "Thành lập đội" }
        }
    };
    Ok(ctx.page(Nav::Teams, "Đội kiểm tra liên ngành 178", body))
}

/// `POST /console/teams`: `name`, `level`, `org_unit_code`.
pub async fn create(f: CheckedForm, db: web::Data<Db>) -> PageResult {
    let CheckedForm { ctx, form } = f;
    let body: teams::NewTeam = serde_json::from_value(json!({
        "name": form.get("name").unwrap_or(""),
        "level": form.get("level").unwrap_or(""),
        "org_unit_code": form.get("org_unit_code").unwrap_or(""),
    }))
    .map_err(|e| ApiError::BadRequest(e.to_string()))?;
    let t = teams::create(&db, ctx.user.clone(), body).await?;
    Ok(ctx.redirect(&format!("/console/teams/{}?ok=created", t.id)))
}

/// `GET /console/teams/{id}`: members and the forms to change them.
pub async fn detail(
    ctx: Ctx,
    db: web::Data<Db>,
    id: web::Path<String>,
    q: web::Query<Done>,
) -> PageResult {
    let id = path_uuid(&id).map_err(|_| ApiError::NotFound)?;
    let t = to_json(&teams::get(&db, ctx.user.clone(), id.clone()).await?)?;
    // The accounts the caller may add: its area's inspectors (a supervisor
    // does not need the account list, which stays an administrator's).
    let people = to_json(&teams::member_candidates(&db, ctx.user.clone(), &id).await?)?;
    let members = t
        .get("members")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let body = html! {
        (notice(done_text(q.ok.as_deref())))
        p { a href="/console/teams" { "← Các đội" } }
        dl.facts {
            dt { "Cấp" } dd { (fmt::level(s(&t, "level"))) }
            dt { "Địa bàn" } dd { (s(&t, "org_unit_code")) }
            dt { "Số thành viên" } dd { (members.len()) }
        }
        h2 { "Thành viên" }
        @if members.is_empty() { p.warning { "Đội chưa có thành viên: đội sẽ không thực hiện được phân công." } }
        @else {
            table.cards-sm #members {
                thead { tr { th { "Họ tên" } th { "Cơ quan" } th { "Vai trò" } th { "" } } }
                tbody {
                    @for m in &members {
                        tr {
                            td data-label="Họ tên" { (s(m, "full_name")) " " span.muted { "(" (s(m, "username")) ")" } }
                            td data-label="Cơ quan" { (fmt::agency(s(m, "agency"))) }
                            td data-label="Vai trò" { @if m.get("is_leader").and_then(Value::as_bool).unwrap_or(false) { "Trưởng đoàn" } @else { "Thành viên" } }
                            td {
                                form method="post" action={"/console/teams/" (id) "/members/" (s(m, "user_id")) "/remove"} data-confirm="Bỏ thành viên này khỏi đội?" {
                                    (ctx.csrf_field())
                                    button.secondary type="submit" data-action="remove-member" { "Bỏ khỏi đội" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Thêm thành viên" }
        form.stack method="post" action={"/console/teams/" (id) "/members"} {
            (ctx.csrf_field())
            @let people = people.as_array().cloned().unwrap_or_default();
            @if people.is_empty() {
                p.muted #no-candidates { "Không có tài khoản thành viên đội kiểm tra nào trong địa bàn của bạn chưa thuộc đội này." }
            }
            label { "Tài khoản (thành viên đội kiểm tra trong địa bàn của bạn)"
                select name="user_id" required #member-picker {
                    @for u in &people {
                        option value=(s(u, "id")) {
                            (s(u, "full_name")) " (" (s(u, "username")) ", " (s(u, "org_unit_code")) ")"
                            @if u.get("team_id").is_some_and(|t| !t.is_null()) { " – đang thuộc đội khác" }
                        }
                    }
                }
            }
            label { "Cơ quan" select name="agency" { @for (code, name) in AGENCIES { option value=(code) { (name) } } } }
            label.check { input type="checkbox" name="is_leader" value="true"; "Trưởng đoàn" }
            button type="submit" data-action="add-member" { "Thêm vào đội" }
        }
    };
    Ok(ctx.page(Nav::Teams, s(&t, "name"), body))
}

/// `POST /console/teams/{id}/members`: `user_id`, `agency`, `is_leader`.
pub async fn add_member(f: CheckedForm, db: web::Data<Db>, id: web::Path<String>) -> PageResult {
    let CheckedForm { ctx, form } = f;
    let body = teams::NewMember {
        user_id: form.get("user_id").unwrap_or("").to_string(),
        agency: form.get("agency").unwrap_or("").to_string(),
        is_leader: form.get("is_leader") == Some("true"),
    };
    teams::add_member(&db, ctx.user.clone(), &id, body).await?;
    Ok(ctx.redirect(&format!("/console/teams/{id}?ok=added")))
}

/// `POST /console/teams/{id}/members/{user_id}/remove`.
pub async fn remove_member(
    f: CheckedForm,
    db: web::Data<Db>,
    path: web::Path<(String, String)>,
) -> PageResult {
    let CheckedForm { ctx, .. } = f;
    let (team, member) = path.into_inner();
    teams::remove_member(&db, ctx.user.clone(), &team, &member).await?;
    Ok(ctx.redirect(&format!("/console/teams/{team}?ok=removed")))
}

/// `GET /console/users`: the accounts the caller manages.
pub async fn users(ctx: Ctx, db: web::Data<Db>, q: web::Query<Done>) -> PageResult {
    let people = to_json(
        &users::list(
            &db,
            ctx.user.clone(),
            crate::domain::page::PageParams {
                limit: Some(500),
                cursor: None,
            },
        )
        .await?
        .items,
    )?;
    let body = html! {
        (notice(done_text(q.ok.as_deref())))
        div.scroll {
            table.cards-sm #users {
                thead { tr { th { "Họ tên" } th { "Tên đăng nhập" } th { "Vai trò" } th { "Đơn vị" } th { "Trạng thái" } th { "Thao tác" } } }
                tbody {
                    @for u in people.as_array().into_iter().flatten() {
                        @let active = u.get("is_active").and_then(Value::as_bool).unwrap_or(false);
                        tr data-username=(s(u, "username")) {
                            td data-label="Họ tên" { (s(u, "full_name")) }
                            td data-label="Tên đăng nhập" { (s(u, "username")) }
                            td data-label="Vai trò" { (fmt::role(s(u, "role"))) }
                            td data-label="Đơn vị" { (s(u, "org_unit_code")) }
                            td data-label="Trạng thái" { @if active { span.ok { "Đang dùng" } } @else { span.bad { "Đã khóa" } } }
                            td {
                                form.inline method="post" action={"/console/users/" (s(u, "id")) "/active"} {
                                    (ctx.csrf_field())
                                    input type="hidden" name="version" value=(n(u, "version"));
                                    input type="hidden" name="is_active" value=(if active { "false" } else { "true" });
                                    button.secondary type="submit" data-action=(if active { "disable" } else { "enable" }) { @if active { "Khóa" } @else { "Mở khóa" } }
                                }
                                form.inline method="post" action={"/console/users/" (s(u, "id")) "/password"} {
                                    (ctx.csrf_field())
                                    label { "Mật khẩu mới" input type="password" name="password" minlength="10" autocomplete="new-password" required; }
                                    button.secondary type="submit" data-action="reset-password" { "Đặt lại" }
                                }
                            }
                        }
                    }
                }
            }
        }
        h2 { "Tạo tài khoản" }
        form.stack method="post" action="/console/users" {
            (ctx.csrf_field())
            label { "Họ tên" input name="full_name" required; }
            label { "Tên đăng nhập (chữ thường, số, . _ -)" input name="username" required autocomplete="off"; }
            label { "Mật khẩu (ít nhất 10 ký tự)" input type="password" name="password" minlength="10" required autocomplete="new-password"; }
            label { "Vai trò" select name="role" {
                option value="inspector" { "Thành viên đội kiểm tra" }
                option value="supervisor" { "Giám sát viên" }
                @if ctx.is_admin() { option value="admin" { "Quản trị viên" } }
            } }
            label { "Mã đơn vị" input name="org_unit_code" value=(ctx.user.org_unit_code.clone().unwrap_or_default()); }
            button type="submit" data-action="create-user" { "Tạo tài khoản" }
        }
    };
    Ok(ctx.page(Nav::Users, "Tài khoản", body))
}

/// `POST /console/users`: `username`, `password`, `full_name`, `role`, `org_unit_code`.
pub async fn create_user(f: CheckedForm, db: web::Data<Db>) -> PageResult {
    let CheckedForm { ctx, form } = f;
    let password = form
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    let body = users::NewUser {
        username: form.get("username").unwrap_or("").to_string(),
        password,
        full_name: form.get("full_name").unwrap_or("").to_string(),
        role: form.get("role").unwrap_or("").to_string(),
        org_unit_code: form.get("org_unit_code").map(str::to_string),
        team_id: form.get("team_id").map(str::to_string),
    };
    users::create(&db, ctx.user.clone(), body).await?;
    Ok(ctx.redirect("/console/users?ok=created"))
}

/// `POST /console/users/{id}/active`: `is_active`, `version`.
pub async fn set_active(f: CheckedForm, db: web::Data<Db>, id: web::Path<String>) -> PageResult {
    let CheckedForm { ctx, form } = f;
    let active = form.get("is_active") == Some("true");
    let expected = form
        .get("version")
        .map(|v| {
            v.parse::<i32>()
                .map_err(|_| ApiError::field("version", "must be an integer"))
        })
        .transpose()?;
    let body = users::UserPatch {
        is_active: Some(active),
        ..Default::default()
    };
    users::patch(&db, ctx.user.clone(), &id, expected, body).await?;
    Ok(ctx.redirect(if active {
        "/console/users?ok=enabled"
    } else {
        "/console/users?ok=disabled"
    }))
}

/// `POST /console/users/{id}/password`: `password`.
pub async fn reset_password(
    f: CheckedForm,
    db: web::Data<Db>,
    id: web::Path<String>,
) -> PageResult {
    let CheckedForm { ctx, form } = f;
    let password = form
        .0
        .iter()
        .find(|(k, _)| k == "password")
        .map(|(_, v)| v.clone())
        .unwrap_or_default();
    users::reset_password(&db, ctx.user.clone(), &id, users::NewPassword { password }).await?;
    Ok(ctx.redirect("/console/users?ok=password"))
}
