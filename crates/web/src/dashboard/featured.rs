//! Trang chia sẻ (the Văn phòng): the week's suggestion with its reasons, choosing 1–2
//! schools and one Phòng or accepting the suggestion, past weeks, and the announcement.

use axum::extract::rejection::{FormRejection, QueryRejection};
use axum::extract::{Form, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use serde::Deserialize;

use super::{Me, SignedIn, WebError, render};
use crate::AppState;
use lantoa_domain::IsoWeek;
use lantoa_services::inbox::answers::target_week;
use lantoa_store::featured as store_featured;
use lantoa_store::identity as audit_log;
use lantoa_store::jobs;
use lantoa_domain::status::{JobState, PickSource};
use lantoa_services::weekly::jobs::{JobError, choose_in};
use lantoa_services::weekly::scheduler::Job;

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
    let now = state.clock.now_ms();
    let week = target_week(&state.config.settings, now);
    let mut codes: Vec<String> = form
        .codes
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|c| !c.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let action = match form.action.as_str() {
        "suggest" => "goi_y",
        "approve" => "duyet",
        "choose" if codes.is_empty() => {
            return refuse(&state, &signed_in, "Thầy/cô chưa nhập mã đơn vị nào.").await;
        }
        "choose" => "chon",
        _ => return Err(WebError::BadRequest("Thao tác không hợp lệ.".into())),
    };
    if action == "goi_y" {
        let picks = state.weekly().suggest_featured(week).await?;
        let detail = format!("suggest {week}: {}", codes_of(&picks));
        let _writing = state.db.write_lock().await;
        let mut tx = state.db.begin_write().await?;
        audit_log::audit(&mut tx, &signed_in.audit(action, detail), now).await?;
        lantoa_store::commit(tx).await?;
        return Ok(Redirect::to("/web/featured?saved=1").into_response());
    }
    let _writing = state.db.write_lock().await;
    let mut tx = state.db.begin_write().await?;
    if action == "duyet" {
        codes = store_featured::picks(&mut tx, week, PickSource::Suggested)
            .await?
            .into_iter()
            .map(|(pick, _)| pick.code)
            .collect();
        if codes.is_empty() {
            drop(tx);
            drop(_writing);
            return refuse(&state, &signed_in, "Chưa có gợi ý cho tuần này.").await;
        }
    }
    match choose_in(
        &mut tx,
        week,
        &codes,
        Some(signed_in.session.viewer.staff_id),
        now,
    )
    .await
    {
        Ok(picks) => {
            let detail = format!("{} {week}: {}", form.action, codes_of(&picks));
            audit_log::audit(&mut tx, &signed_in.audit(action, detail), now).await?;
            lantoa_store::commit(tx).await?;
            Ok(Redirect::to("/web/featured?saved=1").into_response())
        }
        Err(JobError::BadChoice(reason)) => {
            drop(tx);
            drop(_writing);
            refuse(&state, &signed_in, &reason).await
        }
        Err(other) => Err(other.into()),
    }
}

fn codes_of(picks: &[lantoa_domain::standings::Pick]) -> String {
    picks
        .iter()
        .map(|p| p.code.as_str())
        .collect::<Vec<_>>()
        .join(" ")
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
    let week = target_week(&state.config.settings, state.clock.now_ms());
    let mut conn = state.db.acquire().await?;
    let suggested = store_featured::picks(&mut conn, week, PickSource::Suggested).await?;
    let chosen = store_featured::picks(&mut conn, week, PickSource::Chosen).await?;
    let mut past = Vec::new();
    let mut earlier: IsoWeek = week;
    for _ in 0..PAST_WEEKS {
        earlier = earlier.previous();
        let picks = store_featured::picks(&mut conn, earlier, PickSource::Chosen).await?;
        let announced = jobs::run_state(
            &state.db,
            Job::FeaturedAnnouncement.name(),
            &earlier.to_string(),
        )
        .await?
        .map(|(state, _)| announcement_label(state));
        past.push(minijinja::context! {
            week => earlier.to_string(),
            picks => picks.into_iter().map(|(p, _)| p).collect::<Vec<_>>(),
            announced,
        });
    }
    let announced = jobs::run_state(
        &state.db,
        Job::FeaturedAnnouncement.name(),
        &week.to_string(),
    )
    .await?
    .map(|(state, _)| announcement_label(state));
    let page_of = |picks: Vec<(lantoa_domain::standings::Pick, Option<String>)>| {
        picks
            .into_iter()
            .map(|(pick, url)| minijinja::context! { pick, url })
            .collect::<Vec<_>>()
    };
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
