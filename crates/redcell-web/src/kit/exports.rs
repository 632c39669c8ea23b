//! Downloads of every exportable list (see `redcell_store::export`): for
//! each list, `GET /api/v1/<code>/export` (documented in the API with the
//! list's own filters) and the page link `GET /export/<code>`. A capability
//! makes a list downloadable by declaring it `Exportable` in the store and
//! registering it when it mounts (`Surface::export`); nothing here changes.

use super::gate::Access;
use super::surface::Surface;
use crate::Shared;
use crate::auth::{ApiUser, PageUser};
use crate::error::ApiResult;
use crate::pages::{PageError, PageResult};
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use redcell_domain::Capability;
use redcell_store::StoreError;
use redcell_store::export::ExportList;
use utoipa::IntoParams;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterIn, PathItem, Paths};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, ResponsesBuilder};

/// Who may ask for a download; the list's own right decides what is written.
pub const EXPORT: Access = Access::Any(&[Capability::Export, Capability::ReadAudit]);

/// The API operation of one list's download.
fn operation(list: &dyn ExportList) -> PathItem {
    let mut params = crate::export::ExportParams::into_params(|| Some(ParameterIn::Query));
    params.extend(list.params());
    let error = |desc: &str| {
        ResponseBuilder::new()
            .description(desc)
            .content("application/json", ContentBuilder::new().schema(Some(Ref::from_schema_name("ErrorBody"))).build())
            .build()
    };
    let ok = ResponseBuilder::new()
        .description(
            "An attachment (`Content-Disposition` with the Chinese file name in `filename*`): xlsx, or text/csv when `format=csv`",
        )
        .content("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", ContentBuilder::new().build())
        .content("text/csv", ContentBuilder::new().build())
        .build();
    let op = OperationBuilder::new()
        .tag(list.tag())
        .operation_id(Some(format!("export_{}", list.code())))
        .summary(Some(format!("导出{}", list.label())))
        .description(Some(
            "The whole filtered list as a file: xlsx (default) or CSV (UTF-8 with BOM, or `encoding=gb18030`). \
             Personal data masked; cells that would start a formula are prefixed with an apostrophe; the export \
             is recorded in the audit trail."
                .to_string(),
        ))
        .parameters(Some(params))
        .responses(
            ResponsesBuilder::new()
                .response("200", ok)
                .response("401", error("Not signed in"))
                .response("403", error("No right to export this list"))
                .response("422", error("A filter is not valid"))
                .build(),
        )
        .security(utoipa::openapi::security::SecurityRequirement::new("bearer", Vec::<String>::new()))
        .build();
    PathItem::new(HttpMethod::Get, op)
}

/// Mount the download routes of every list the capabilities registered.
pub fn mount(s: &mut Surface) {
    let lists: Vec<&'static dyn ExportList> = s.export_lists().to_vec();
    for list in lists {
        let path = format!("/api/v1/{}/export", list.code());
        let mut paths = Paths::new();
        paths.paths.insert(path, operation(list));
        let handler = move |ApiUser(p): ApiUser, State(st): State<Shared>, RawQuery(q): RawQuery| async move {
            let r: ApiResult<Response> =
                Ok(crate::export::download(&st.db, &p, list, q.as_deref().unwrap_or("")).await?);
            r
        };
        s.api(EXPORT, (vec![], paths, axum::routing::get(handler)));
    }
    s.get("/export/{list}", EXPORT, page_download);
}

/// A download from a list page: `/export/<code>?format=xlsx|csv&<filters>`.
async fn page_download(
    u: PageUser,
    State(s): State<Shared>,
    Path(code): Path<String>,
    RawQuery(q): RawQuery,
) -> PageResult {
    let list = crate::export_list(&code).ok_or_else(|| PageError::from(StoreError::NotFound))?;
    Ok(crate::export::download(&s.db, &u.p, list, q.as_deref().unwrap_or("")).await?)
}
