//! Trang chia sẻ (the Văn phòng): the week's suggestion with its reasons, choosing 1–2
//! schools and one Phòng or accepting the suggestion, past weeks, and the announcement.

use axum::extract::{Form, State};
use axum::response::Html;
use serde::Deserialize;

use super::{Me, SignedIn, WebError, render};
use crate::app::AppState;
use crate::calendar::IsoWeek;
use crate::inbox::answers::target_week;
use crate::store::featured as store_featured;
use crate::store::identity as audit_log;
use crate::store::jobs;
use crate::store::status::PickSource;
use crate::weekly::jobs::{JobError, choose_in};
use crate::weekly::scheduler::Job;

/// Past weeks listed under the choice.
const PAST_WEEKS: usize = 6;

/// `GET /web/featured`.
pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Html<String>, WebError> {
    signed_in.require_admin()?;
    show(&state, &signed_in, None, None).await
}

#[derive(Debug, Deserialize)]
pub struct ChoiceForm {
    #[serde(default)]
    csrf: String,
    /// `choose`, `approve` or `suggest`.
    action: String,
    #[serde(default)]
    codes: String,
}

/// `POST /web/featured`: choose, accept the suggestion, or make one.
pub async fn choose(
    State(state): State<AppState>,
    signed_in: SignedIn,
    Form(form): Form<ChoiceForm>,
) -> Result<Html<String>, WebError> {
    signed_in.require_admin()?;
    signed_in.check_csrf(&form.csrf)?;
    let now = state.clock.now_ms();
    let week = target_week(&state.config.settings, now);
    let staff_id = signed_in.session.viewer.staff_id;
    let codes: Vec<String> = form
        .codes
        .split(|c: char| c.is_whitespace() || c == ',' || c == ';')
        .filter(|c| !c.is_empty())
        .map(str::to_ascii_uppercase)
        .collect();
    let outcome = match form.action.as_str() {
        "suggest" => state.weekly().suggest_featured(week).await.map(|_| ()),
        "choose" | "approve" => {
            let _writing = state.db.write_lock().await;
            let mut tx = state.db.begin_write().await?;
            let codes = if form.action == "approve" {
                store_featured::picks(&mut tx, week, PickSource::Suggested)
                    .await?
                    .into_iter()
                    .map(|(pick, _)| pick.code)
                    .collect()
            } else {
                codes
            };
            if codes.is_empty() {
                return show(
                    &state,
                    &signed_in,
                    None,
                    Some("Thầy/cô chưa chọn đơn vị nào.".into()),
                )
                .await;
            }
            match choose_in(&mut tx, week, &codes, Some(staff_id), now).await {
                Ok(picks) => {
                    let detail = format!(
                        "{} {week}: {}",
                        form.action,
                        picks
                            .iter()
                            .map(|p| p.code.as_str())
                            .collect::<Vec<_>>()
                            .join(" ")
                    );
                    let action = if form.action == "approve" {
                        "duyet"
                    } else {
                        "chon"
                    };
                    audit_log::audit(&mut tx, &signed_in.audit(action, detail), now).await?;
                    crate::store::commit(tx).await?;
                    Ok(())
                }
                Err(err) => Err(err),
            }
        }
        other => {
            return Err(WebError::BadRequest(format!(
                "Thao tác không hợp lệ: {other}"
            )));
        }
    };
    match outcome {
        Ok(()) => show(&state, &signed_in, Some("Đã lưu.".into()), None).await,
        Err(JobError::BadChoice(reason)) => show(&state, &signed_in, None, Some(reason)).await,
        Err(other) => Err(other.into()),
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
        .map(|(state, _)| state.to_string());
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
    .map(|(state, _)| state.to_string());
    let page_of = |picks: Vec<(crate::weekly::featured::Pick, Option<String>)>| {
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
