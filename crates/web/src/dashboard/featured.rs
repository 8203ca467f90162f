//! Trang chia sẻ (the Văn phòng): the week's suggestion with its reasons, choosing 1–2
//! schools and one Phòng or accepting the suggestion, past weeks, and the announcement.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Me, SignedIn, WebError, render};
use crate::AppState;
use lantoa_domain::standings::Pick;
use lantoa_domain::status::JobState;
use lantoa_services::featured::{Choice, WeekPicks};
use lantoa_services::weekly::JobError;

/// Past weeks listed under the choice.
const PAST_WEEKS: usize = 6;

#[derive(Debug, Deserialize)]
pub struct SavedQuery {
    #[serde(default)]
    saved: String,
}

/// `GET /web/featured` (`?saved=1` after a change).
pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
    query: Result<Query<SavedQuery>, QueryRejection>,
) -> Result<Html<String>, WebError> {
    signed_in.require_admin()?;
    let saved = query.is_ok_and(|Query(q)| q.saved == "1");
    show(
        &state,
        &signed_in,
        saved.then(|| "Đã lưu.".to_string()),
        None,
    )
    .await
}

#[derive(Debug, Default, Deserialize)]
pub struct ChoiceForm {
    #[serde(default)]
    csrf: String,
    /// `choose`, `approve` or `suggest`.
    #[serde(default)]
    action: String,
    #[serde(default)]
    codes: String,
}

/// `POST /web/featured`: choose, accept the suggestion, or make one; then back to the page
/// (a refresh does not post again). A choice that cannot be made is shown on the page.
pub async fn choose(
    State(state): State<AppState>,
    signed_in: SignedIn,
    form: Result<Form<ChoiceForm>, FormRejection>,
) -> Result<Response, WebError> {
    signed_in.require_admin()?;
    let Form(form) = form.map_err(|_| WebError::BadRequest("Biểu mẫu không hợp lệ.".into()))?;
    signed_in.check_csrf(&form.csrf)?;
    let featured = state.featured();
    let week = featured.target_week();
    let codes: Vec<String> = form
        .codes
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|c| !c.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let actor = signed_in.actor();
    let chosen = match form.action.as_str() {
        "suggest" => {
            featured.suggest_as(week, &actor).await?;
            return Ok(Redirect::to("/web/featured?saved=1").into_response());
        }
        "approve" => featured.choose_as(week, Choice::Suggestion, &actor).await,
        "choose" if codes.is_empty() => {
            return refuse(&state, &signed_in, "Thầy/cô chưa nhập mã đơn vị nào.").await;
        }
        "choose" => featured.choose_as(week, Choice::Codes(codes), &actor).await,
        _ => return Err(WebError::BadRequest("Thao tác không hợp lệ.".into())),
    };
    match chosen {
        Ok(_) => Ok(Redirect::to("/web/featured?saved=1").into_response()),
        Err(JobError::BadChoice(reason)) => refuse(&state, &signed_in, &reason).await,
        Err(other) => Err(other.into()),
    }
}

/// The page again, with why nothing changed.
async fn refuse(
    state: &AppState,
    signed_in: &SignedIn,
    reason: &str,
) -> Result<Response, WebError> {
    let page = show(state, signed_in, None, Some(reason.to_string())).await?;
    Ok((StatusCode::UNPROCESSABLE_ENTITY, page).into_response())
}

/// How the week's announcement went, for people.
fn announcement_label(state: JobState) -> &'static str {
    match state {
        JobState::Done => "đã gửi",
        JobState::Running => "đang gửi",
        JobState::Failed => "gửi lỗi (xem nhật ký máy chủ)",
    }
}

async fn show(
    state: &AppState,
    signed_in: &SignedIn,
    saved: Option<String>,
    error: Option<String>,
) -> Result<Html<String>, WebError> {
    let page = state.featured().page(PAST_WEEKS).await?;
    let page_of = |picks: Vec<(Pick, Option<String>)>| {
        picks
            .into_iter()
            .map(|(pick, url)| minijinja::context! { pick, url })
            .collect::<Vec<_>>()
    };
    let past: Vec<_> = page
        .past
        .into_iter()
        .map(
            |WeekPicks {
                 week,
                 picks,
                 announced,
             }| {
                minijinja::context! {
                    week => week.to_string(),
                    picks => picks.into_iter().map(|(p, _)| p).collect::<Vec<_>>(),
                    announced => announced.map(announcement_label),
                }
            },
        )
        .collect();
    let announced = page.chosen.announced.map(announcement_label);
    let (week, suggested, chosen) = (page.week, page.suggested, page.chosen.picks);
    render(
        "featured.html",
        minijinja::context! {
            me => Me::from(signed_in),
            week => week.to_string(),
            suggested => page_of(suggested),
            chosen => page_of(chosen),
            past,
            announced,
            saved,
            error,
        },
    )
}
