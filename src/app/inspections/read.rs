//! Reading minutes: one, its versions, a filtered page.

use serde::Deserialize;

use super::{load_dto, load_head, to_dto, InspectionDto};
use crate::app::auth::AuthUser;
use crate::app::policy;
use crate::db::inspections::{self as rows, ListFilter};
use crate::db::Db;
use crate::domain::calendar::{day_end, day_start, query_date};
use crate::domain::page::{Page, PageParams};
use crate::domain::values::parse_uuid;
use crate::error::ApiError;

/// Minutes `id` as the caller may read them, with their photos.
pub async fn get(db: &Db, user: AuthUser, id: String) -> Result<InspectionDto, ApiError> {
    db.run(move |conn| load_dto(conn, &user, &id)).await
}

/// Every version of minutes `id`, oldest first, as one page.
pub async fn versions(
    db: &Db,
    user: AuthUser,
    id: String,
) -> Result<Page<InspectionDto>, ApiError> {
    let items = db
        .run(move |conn| {
            let head = load_head(conn, &user, &id)?;
            let rows = rows::versions(conn, &id)?;
            Ok(rows.iter().map(|v| to_dto(&head, v)).collect::<Vec<_>>())
        })
        .await?;
    Ok(Page {
        items,
        next_cursor: None,
    })
}

/// Filters of `GET /inspections`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListParams {
    plan_id: Option<String>,
    team_id: Option<String>,
    establishment_id: Option<String>,
    from: Option<String>,
    to: Option<String>,
    limit: Option<i64>,
    cursor: Option<String>,
}

/// A page of the minutes the caller may read, by id; `from`/`to` are
/// Vietnam days of `finished_at`, inclusive.
pub async fn list(
    db: &Db,
    user: AuthUser,
    mut q: ListParams,
) -> Result<Page<InspectionDto>, ApiError> {
    // Ids are UUIDs (api-spec/openapi.yaml): anything else is 422, not an
    // empty page.
    for (field, v) in [
        ("plan_id", &mut q.plan_id),
        ("team_id", &mut q.team_id),
        ("establishment_id", &mut q.establishment_id),
    ] {
        if let Some(id) = v.as_deref() {
            *v = Some(parse_uuid(field, id)?);
        }
    }
    let from = query_date("from", q.from.as_deref())?;
    let to = query_date("to", q.to.as_deref())?;
    let pp = PageParams {
        limit: q.limit,
        cursor: q.cursor.clone(),
    };
    let limit = pp.limit()?;
    let after = pp.after()?;
    let filter = ListFilter {
        team_only: policy::listed_team(&user),
        scope: user.scope_path.clone(),
        plan_id: q.plan_id,
        team_id: q.team_id,
        establishment_id: q.establishment_id,
        finished_from: from.map(day_start),
        finished_before: to.map(day_end),
        after,
    };
    db.run(move |conn| {
        let rows = rows::list_page(conn, filter, limit + 1)?;
        let items: Vec<InspectionDto> = rows.iter().map(|(h, v)| to_dto(h, v)).collect();
        Ok(Page::from_rows(items, limit, |d: &InspectionDto| {
            d.id.clone()
        }))
    })
    .await
}
