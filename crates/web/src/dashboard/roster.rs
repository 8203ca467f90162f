//! Danh sách (the Văn phòng): upload the units or staff file (CSV or XLSX), see what it would
//! change — added, updated, deactivated, or every error with its line and column — and then
//! import it, all or nothing, by the same rules as `lantoa import`.

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Multipart, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use serde::Deserialize;

use super::{Me, SignedIn, WebError, render};
use crate::AppState;
use lantoa_core::org::Table;
use lantoa_services::roster::{ImportError, ImportSummary, Mode, TableKind};
use lantoa_store::identity as audit_log;
use lantoa_store::web as store;

/// The largest file accepted (a province's 50,000 staff are about 4 MB of CSV).
pub const MAX_UPLOAD_BYTES: usize = 20 * 1024 * 1024;

/// `GET /web/roster`.
pub async fn page(signed_in: SignedIn) -> Result<Html<String>, WebError> {
    signed_in.require_admin()?;
    render(
        "roster.html",
        minijinja::context! { me => Me::from(&signed_in) },
    )
}

/// What the upload form sends.
#[derive(Debug, Default)]
struct Upload {
    csrf: String,
    kind: String,
    file_name: String,
    content: Vec<u8>,
}

async fn read_upload(mut multipart: Multipart) -> Result<Upload, WebError> {
    let bad = |_| WebError::BadRequest("Không đọc được tệp tải lên.".into());
    let mut upload = Upload::default();
    while let Some(field) = multipart.next_field().await.map_err(bad)? {
        match field.name() {
            Some("csrf") => upload.csrf = field.text().await.map_err(bad)?,
            Some("kind") => upload.kind = field.text().await.map_err(bad)?,
            Some("file") => {
                upload.file_name = field.file_name().unwrap_or_default().to_string();
                upload.content = field.bytes().await.map_err(bad)?.to_vec();
            }
            _ => {}
        }
    }
    Ok(upload)
}

/// A file name as people gave it, kept to what names a file (it is shown and stored).
fn clean_name(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or_default();
    base.chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect::<String>()
}

/// `POST /web/roster/preview`: keeps the file and shows what importing it would do.
pub async fn preview(
    State(state): State<AppState>,
    signed_in: SignedIn,
    multipart: Multipart,
) -> Result<Response, WebError> {
    signed_in.require_admin()?;
    let upload = read_upload(multipart).await?;
    signed_in.check_csrf(&upload.csrf)?;
    if !matches!(upload.kind.as_str(), "units" | "staff") {
        return Err(WebError::BadRequest("Loại danh sách không hợp lệ.".into()));
    }
    let file_name = clean_name(&upload.file_name);
    let lower = file_name.to_ascii_lowercase();
    if upload.content.is_empty() || !(lower.ends_with(".csv") || lower.ends_with(".xlsx")) {
        return refuse(&signed_in, "Thầy/cô chọn một tệp .csv (UTF-8) hoặc .xlsx.").await;
    }
    let outcome = run(
        &state,
        &upload.kind,
        &file_name,
        upload.content.clone(),
        Mode::Preview,
    )
    .await;
    let upload_id = match &outcome {
        Ok(_) => Some(
            store::store_upload(
                &state.db,
                signed_in.session.id,
                &upload.kind,
                &file_name,
                &upload.content,
                state.clock.now_ms(),
            )
            .await?,
        ),
        Err(_) => None,
    };
    show(
        &signed_in,
        &upload.kind,
        &file_name,
        outcome,
        upload_id,
        false,
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct ApplyForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    upload: i64,
}

/// `POST /web/roster/apply`: imports the previewed file (read and checked again).
pub async fn apply(
    State(state): State<AppState>,
    signed_in: SignedIn,
    form: Result<Form<ApplyForm>, FormRejection>,
) -> Result<Response, WebError> {
    signed_in.require_admin()?;
    let Form(form) = form.unwrap_or_default();
    signed_in.check_csrf(&form.csrf)?;
    let upload = store::pending_upload(&state.db, form.upload, signed_in.session.id)
        .await?
        .ok_or(WebError::NotFound)?;
    let outcome = run(
        &state,
        &upload.kind,
        &upload.file_name,
        upload.content,
        Mode::Apply,
    )
    .await;
    if let Ok(summary) = &outcome {
        let now = state.clock.now_ms();
        store::mark_applied(&state.db, form.upload, now).await?;
        let detail = format!(
            "import {} from {}: {summary}",
            upload.kind, upload.file_name
        );
        let _writing = state.db.write_lock().await;
        let mut tx = state.db.begin_write().await?;
        audit_log::audit(&mut tx, &signed_in.audit("import", detail), now).await?;
        lantoa_store::commit(tx).await?;
    }
    show(
        &signed_in,
        &upload.kind,
        &upload.file_name,
        outcome,
        None,
        true,
    )
}

async fn run(
    state: &AppState,
    kind: &str,
    file_name: &str,
    content: Vec<u8>,
    mode: Mode,
) -> Result<ImportSummary, ImportError> {
    let name = file_name.to_string();
    let table = tokio::task::spawn_blocking(move || Table::from_upload(name, content))
        .await
        .expect("the table reader does not panic")?;
    match kind {
        "units" => import_units_table(&state.db, table, mode).await,
        _ => import_staff_table(&state.db, table, mode).await,
    }
}

fn show(
    signed_in: &SignedIn,
    kind: &str,
    file_name: &str,
    outcome: Result<ImportSummary, ImportError>,
    upload_id: Option<i64>,
    applied: bool,
) -> Result<Response, WebError> {
    let (status, summary, problems, failure) = match outcome {
        Ok(summary) => (StatusCode::OK, Some(summary), Vec::new(), None),
        Err(ImportError::Invalid { issues, .. }) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            issues
                .iter()
                .map(|issue| {
                    minijinja::context! {
                        line => issue.line,
                        column => issue.column.as_ref().map(|(n, name)| format!("{n} ({name})")),
                        reason => issue.reason.clone(),
                    }
                })
                .collect(),
            None,
        ),
        Err(ImportError::Table(err)) => (
            StatusCode::UNPROCESSABLE_ENTITY,
            None,
            Vec::new(),
            Some(err.to_string()),
        ),
        Err(ImportError::Store(err)) => return Err(err.into()),
    };
    let page = render(
        "roster_preview.html",
        minijinja::context! {
            me => Me::from(signed_in),
            kind,
            file_name,
            summary => summary.as_ref().map(|s| minijinja::context! {
                added => s.added, updated => s.updated, deactivated => s.deactivated,
                unchanged => s.unchanged, warnings => s.warnings.clone(),
            }),
            problems,
            failure,
            upload_id,
            applied,
        },
    )?;
    Ok((status, page).into_response())
}

async fn refuse(signed_in: &SignedIn, reason: &str) -> Result<Response, WebError> {
    let page = render(
        "roster.html",
        minijinja::context! { me => Me::from(signed_in), error => reason },
    )?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}
