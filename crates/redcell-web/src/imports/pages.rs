//! Rosters in (花名册导入): pick a kind, upload, see the check (counts, every
//! error, the changes), then import or discard; batches with undo. Checks and
//! imports run as background jobs (see `redcell_store::import::jobs`): the job
//! page shows progress and survives a reload.

use crate::Shared;
use crate::auth::PageUser;
use crate::kit::{Surface, gates};
use crate::pages::{CheckedForm, Nav, PageError, PageResult, render};
use askama::Template;
use axum::body::Bytes;
use axum::extract::{Multipart, Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Redirect};
use redcell_domain::rosters::{ImportKind, importable};
use redcell_domain::{CodeEnum, FieldError};
use redcell_store::StoreError;
use redcell_store::import::{self, Batch, jobs};

/// Rows of errors and changes shown on the page; the error sheet has them all.
const SHOWN: usize = 1000;

#[derive(Template)]
#[template(path = "import.html")]
struct ImportPage {
    nav: Option<Nav>,
    csrf: String,
    kinds: Vec<(&'static str, &'static str, bool)>,
    jobs: Vec<jobs::Job>,
    batches: Vec<Batch>,
    /// The kind chosen already (`?kind=`, from a register page's link).
    chosen: String,
}

#[derive(serde::Deserialize, Default)]
struct ImportQuery {
    kind: Option<String>,
}

async fn import_page(
    u: PageUser,
    State(s): State<Shared>,
    axum::extract::Query(q): axum::extract::Query<ImportQuery>,
) -> PageResult {
    let batches = import::batches(&s.db, &u.p, 50).await?;
    let jobs = jobs::recent(&s.db, &u.p, 10).await?;
    let kinds = ImportKind::ALL.iter().map(|k| (k.code(), k.label(), importable(*k))).collect();
    let chosen = q.kind.filter(|k| ImportKind::from_code(k).is_some()).unwrap_or_default();
    Ok(render(&ImportPage { nav: Nav::of(&u), csrf: u.csrf.clone(), kinds, jobs, batches, chosen }))
}

async fn template(u: PageUser, Path(kind): Path<String>) -> PageResult {
    if u.p.scope(redcell_domain::Capability::EditRegistry).is_empty() {
        return Err(StoreError::Forbidden.into());
    }
    let kind = ImportKind::from_code(kind.trim_end_matches(".xlsx")).ok_or(StoreError::NotFound)?;
    let bytes = redcell_docs::rosters::template(kind).map_err(|e| StoreError::Internal(e.to_string()))?;
    Ok(xlsx(&format!("{}-导入模板.xlsx", kind.label()), bytes))
}

fn xlsx(name: &str, bytes: Vec<u8>) -> axum::response::Response {
    let ascii: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' { c } else { '_' }).collect();
    let encoded: String = name
        .bytes()
        .map(|b| {
            if b.is_ascii_alphanumeric() || b == b'.' || b == b'-' {
                (b as char).to_string()
            } else {
                format!("%{b:02X}")
            }
        })
        .collect();
    (
        [
            (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string()),
            (header::CONTENT_DISPOSITION, format!("attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}")),
            (header::CACHE_CONTROL, "private, no-store".to_string()),
        ],
        bytes,
    )
        .into_response()
}

fn unreadable(e: &axum::extract::multipart::MultipartError) -> PageError {
    tracing::info!("import upload not readable: {e}");
    StoreError::Invalid(
        FieldError::new("file", "unreadable", "文件过大（最大50MB）或上传不完整，请重新选择文件").into(),
    )
    .into()
}

async fn upload(u: PageUser, State(s): State<Shared>, mut mp: Multipart) -> PageResult {
    let mut csrf_ok = false;
    let mut kind: Option<String> = None;
    let mut file: Option<(String, Vec<u8>)> = None;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(field)) => field,
            Ok(None) => break,
            Err(e) => return Err(unreadable(&e)),
        };
        match field.name() {
            Some("_csrf") => csrf_ok = field.text().await.is_ok_and(|t| crate::auth::same_token(&t, &u.csrf)),
            Some("kind") => kind = field.text().await.ok(),
            Some("file") => {
                let name = field.file_name().unwrap_or("file").to_string();
                match field.bytes().await {
                    Ok(b) => file = Some((name, b.to_vec())),
                    Err(e) => return Err(unreadable(&e)),
                }
            }
            _ => {}
        }
    }
    if !csrf_ok {
        let _ = redcell_store::accounts::refused(&s.db, &u.p, "csrf_failed", "import upload").await;
        return Err(PageError::csrf());
    }
    let kind = ImportKind::parse("kind", kind.as_deref().unwrap_or(""))?;
    let Some((name, bytes)) = file.filter(|(_, b)| !b.is_empty()) else {
        return Err(StoreError::Invalid(FieldError::new("file", "required", "请选择要导入的文件").into()).into());
    };
    let id = jobs::stage(&s.db, &u.p, kind, &name, &bytes).await?;
    Ok(Redirect::to(&format!("/import/jobs/{id}")).into_response())
}

#[derive(Template)]
#[template(path = "import_job.html")]
struct JobPage {
    nav: Option<Nav>,
    csrf: String,
    job: jobs::Job,
    report: Option<import::Report>,
    shown: usize,
    errors: Vec<import::RowError>,
    changes: Vec<import::RowChange>,
    more_errors: bool,
    more_changes: usize,
}

async fn job_page(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>) -> PageResult {
    let job = jobs::get(&s.db, &u.p, id).await?;
    let report = job.report.clone();
    let (errors, changes, more_errors, more_changes) = match &report {
        Some(r) => (
            r.errors.iter().take(SHOWN).cloned().collect(),
            r.changes.iter().take(SHOWN).cloned().collect(),
            r.errors.len() > SHOWN,
            r.changes.len().saturating_sub(SHOWN),
        ),
        None => (Vec::new(), Vec::new(), false, 0),
    };
    let page = JobPage {
        nav: Nav::of(&u),
        csrf: u.csrf.clone(),
        job,
        report,
        shown: SHOWN,
        errors,
        changes,
        more_errors,
        more_changes,
    };
    Ok(render(&page))
}

/// For the page's script: is the job finished, and how far is it.
async fn job_status(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>) -> PageResult {
    let job = jobs::get(&s.db, &u.p, id).await?;
    Ok(axum::Json(serde_json::json!({ "status": job.status, "progress": job.progress, "finished": job.finished() }))
        .into_response())
}

async fn error_sheet(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>) -> PageResult {
    let (name, bytes) = jobs::error_sheet(&s.db, &u.p, id, crate::today()).await?;
    Ok(xlsx(&name, bytes))
}

async fn commit(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    if let Err(r) = CheckedForm::check(&u, &s.db, &body).await {
        return Ok(r);
    }
    jobs::request_commit(&s.db, &u.p, id).await?;
    Ok(Redirect::to(&format!("/import/jobs/{id}")).into_response())
}

async fn discard(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    if let Err(r) = CheckedForm::check(&u, &s.db, &body).await {
        return Ok(r);
    }
    jobs::discard(&s.db, &u.p, id).await?;
    Ok(Redirect::to("/import").into_response())
}

async fn undo(u: PageUser, State(s): State<Shared>, Path(id): Path<i64>, body: Bytes) -> PageResult {
    if let Err(r) = CheckedForm::check(&u, &s.db, &body).await {
        return Ok(r);
    }
    import::undo(&s.db, &u.p, id).await?;
    Ok(Redirect::to("/import?undone=1").into_response())
}

/// Roster import: everything needs the right to edit the registry; what a
/// file may touch is checked row by row against the caller's scope.
pub fn mount(s: &mut Surface) {
    s.get("/import", gates::EDIT, import_page)
        .get("/import/templates/{kind}", gates::EDIT, template)
        .get("/import/jobs/{id}", gates::EDIT, job_page)
        .get("/import/jobs/{id}/status", gates::EDIT, job_status)
        .get("/import/jobs/{id}/errors.xlsx", gates::EDIT, error_sheet)
        .post("/import/jobs/{id}/commit", gates::EDIT, commit)
        .post("/import/jobs/{id}/discard", gates::EDIT, discard)
        .post("/import/batches/{id}/undo", gates::EDIT, undo)
        .upload("/import/upload", gates::EDIT, import::MAX_BYTES + 64 * 1024, upload);
    s.nav(20, "/import", "花名册导入", gates::EDIT);
}
