//! Thông tin của tôi: how Lantoa may reach the signed-in person beyond chat, and their choice
//! to stop email and paid template messages (as `TAT EMAIL` / `BAT EMAIL` in chat).

use axum::extract::rejection::FormRejection;
use axum::extract::{Form, State};
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Me, SignedIn, WebError, render};
use crate::AppState;

/// `GET /web/me`.
pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Html<String>, WebError> {
    let staff_id = signed_in.session.viewer.staff_id;
    let contact = state
        .reach_choice()
        .contact(staff_id)
        .await?
        .unwrap_or_default();
    render(
        "me.html",
        minijinja::context! {
            me => Me::from(&signed_in),
            contact,
            email_on => state.config.email.is_some(),
        },
    )
}

#[derive(Debug, Default, Deserialize)]
pub struct ReachForm {
    #[serde(default)]
    csrf: String,
    /// `on` resumes, anything else stops.
    #[serde(default)]
    reach: String,
}

/// `POST /web/me/reach`.
pub async fn set_reach(
    State(state): State<AppState>,
    signed_in: SignedIn,
    form: Result<Form<ReachForm>, FormRejection>,
) -> Result<Response, WebError> {
    let Form(form) = form.unwrap_or_default();
    signed_in.check_csrf(&form.csrf)?;
    let on = form.reach == "on";
    state
        .reach_choice()
        .set(signed_in.session.viewer.staff_id, on, &signed_in.actor())
        .await?;
    Ok(Redirect::to("/web/me").into_response())
}
