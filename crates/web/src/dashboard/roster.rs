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
use lantoa_domain::ids::UploadId;
use lantoa_services::roster::{ImportError, ImportSummary, TableKind};

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
    let Some(kind) = TableKind::parse(&upload.kind) else {
        return Err(WebError::BadRequest("Loại danh sách không hợp lệ.".into()));
    };
    let file_name = clean_name(&upload.file_name);
    let lower = file_name.to_ascii_lowercase();
    if upload.content.is_empty() || !(lower.ends_with(".csv") || lower.ends_with(".xlsx")) {
        return refuse(&signed_in, "Thầy/cô chọn một tệp .csv (UTF-8) hoặc .xlsx.").await;
    }
    let previewed = state
        .roster()
        .preview_upload(signed_in.session.id, kind, &file_name, upload.content)
        .await;
    let (outcome, upload_id) = match previewed {
        Ok(previewed) => (Ok(previewed.summary), Some(previewed.upload_id)),
        Err(err) => (Err(err), None),
    };
    show(&signed_in, kind, &file_name, outcome, upload_id, false)
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
    let imported = state
        .roster()
        .apply_upload(
            signed_in.session.id,
            UploadId(form.upload),
            &signed_in.actor(),
        )
        .await?
        .ok_or(WebError::NotFound)?;
    show(
        &signed_in,
        imported.kind,
        &imported.file_name,
        imported.outcome,
        None,
        true,
    )
}

fn show(
    signed_in: &SignedIn,
    kind: TableKind,
    file_name: &str,
    outcome: Result<ImportSummary, ImportError>,
    upload_id: Option<UploadId>,
    applied: bool,
) -> Result<Response, WebError> {
    let kind = kind.as_str();
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
