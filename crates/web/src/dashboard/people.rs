//! Cán bộ: who in the viewer's scope is registered (and where registration lags), a search
//! without diacritics, the registration requests waiting for a head, and for the Văn phòng
//! removing a person's chat accounts.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Me, SignedIn, WebError, render};
use crate::AppState;
use lantoa_domain::ids::RequestId;
use lantoa_services::accounts::UnlinkError;
use lantoa_services::invites::InviteError;
use lantoa_services::registration::{DecideError, RequestOutcome};
use lantoa_services::weekly::JobError;

#[derive(Debug, Default, Deserialize)]
pub struct PeopleQuery {
    #[serde(default)]
    q: String,
    #[serde(default)]
    done: String,
}

/// `GET /web/people`.
pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    query: Result<Query<PeopleQuery>, QueryRejection>,
) -> Result<Html<String>, WebError> {
    let Query(query) = query.unwrap_or_default();
    let people = state
        .dashboard
        .people(signed_in.scope, &query.q, signed_in.is_admin())
        .await?;
    let time_zone = &state.config.settings.time_zone;
    let requests: Vec<_> = people
        .requests
        .into_iter()
        .map(|request| {
            let at = super::local_time(request.created_at, time_zone);
            minijinja::context! { at, request }
        })
        .collect();
    // Accounts refused for guessing codes in the last hour (the Văn phòng's to watch).
    let throttled: Vec<_> = people
        .throttled
        .into_iter()
        .map(|account| minijinja::context! { at => super::local_time(account.last_at, time_zone), account })
        .collect();
    render(
        "people.html",
        minijinja::context! {
            me => Me::from(&signed_in),
            throttled,
            lagging => people.lagging,
            q => query.q,
            searched => people.found.is_some(),
            found => people.found.unwrap_or_default(),
            requests,
            done => query.done,
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct UnlinkForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    code: String,
}

/// `POST /web/people/unlink` (the Văn phòng): removes the person's chat accounts; each one
/// is told, as with `lantoa unlink`.
pub async fn unlink(
    State(state): State<AppState>,
    signed_in: SignedIn,
    form: Result<Form<UnlinkForm>, FormRejection>,
) -> Result<Response, WebError> {
    signed_in.require_admin()?;
    let Form(form) = form.unwrap_or_default();
    signed_in.check_csrf(&form.csrf)?;
    match state
        .accounts()
        .unlink(&form.code, None, &signed_in.actor())
        .await
    {
        Ok(accounts) => {
            let code = form.code.trim().to_ascii_uppercase();
            let done = if accounts.is_empty() {
                "none"
            } else {
                "unlinked"
            };
            Ok(Redirect::to(&format!("/web/people?q={code}&done={done}")).into_response())
        }
        Err(UnlinkError::UnknownStaff(_)) => Err(WebError::NotFound),
        Err(UnlinkError::Store(err)) => Err(err.into()),
        Err(UnlinkError::Template(err)) => Err(WebError::Job(JobError::Template(err))),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct DecisionForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    request: i64,
    /// `approve` or `refuse`.
    #[serde(default)]
    decision: String,
}

/// `POST /web/people/decide`: a head (or, for a unit without one, the Văn phòng) approves or
/// refuses a registration request, exactly as `DONGY`/`TUCHOI` in chat would.
pub async fn decide(
    State(state): State<AppState>,
    signed_in: SignedIn,
    form: Result<Form<DecisionForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.unwrap_or_default();
    signed_in.check_csrf(&form.csrf)?;
    let approve = match form.decision.as_str() {
        "approve" => true,
        "refuse" => false,
        _ => return Err(WebError::BadRequest("Quyết định không hợp lệ.".into())),
    };
    let decided = state
        .requests()
        .decide(&signed_in.session.viewer, RequestId(form.request), approve)
        .await
        .map_err(|err| match err {
            DecideError::NotFound => WebError::NotFound,
            DecideError::Store(err) => WebError::Store(err),
            DecideError::Failed(reason) => {
                tracing::warn!(%reason, "a dashboard decision failed");
                WebError::BadRequest("Không xử lý được yêu cầu này; thầy/cô tải lại trang.".into())
            }
        })?;
    let done = match (approve, decided.outcome) {
        (true, RequestOutcome::Decided { linked: true }) => "approved",
        (true, _) => "not-linked",
        (false, _) => "refused",
    };
    Ok(Redirect::to(&format!(
        "/web/people?q={}&done={done}",
        decided.person_code
    ))
    .into_response())
}

#[derive(Debug, Default, Deserialize)]
pub struct InvitesForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    unit: String,
}

/// `POST /web/people/invites`: the printable invite sheet of a unit in scope, issuing a code
/// to everyone there without a live one (as `lantoa invites --unit CODE --format xlsx`). A
/// POST, because issuing changes what is stored and the codes are shown only this once.
pub async fn invites(
    State(state): State<AppState>,
    signed_in: SignedIn,
    form: Result<Form<InvitesForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.unwrap_or_default();
    signed_in.check_csrf(&form.csrf)?;
    let unit = super::pages::unit_in_scope(&state, signed_in.scope, &form.unit).await?;
    let bytes = state
        .invites()
        .sheet(&unit.code, &signed_in.actor())
        .await
        .map_err(|err| match err {
            InviteError::Sheet(err) => WebError::Job(JobError::Write(err.to_string())),
            other => WebError::BadRequest(format!("Không phát được mã mời: {other}")),
        })?;
    Ok((
        [
            (
                axum::http::header::CONTENT_TYPE,
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet".to_string(),
            ),
            (
                axum::http::header::CONTENT_DISPOSITION,
                format!("attachment; filename=\"ma-moi-{}.xlsx\"", unit.code),
            ),
        ],
        bytes,
    )
        .into_response())
}
