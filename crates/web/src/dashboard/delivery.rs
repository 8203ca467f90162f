//! Gửi tin (the Văn phòng): what is waiting, what failed, whether the channels can send, and
//! what the ladder beyond the chat window delivered, cost and could not do.

use axum::extract::State;
use axum::response::Html;

use super::{Me, SignedIn, WebError, render};
use crate::AppState;

/// `GET /web/delivery`.
pub async fn page(
    State(state): State<AppState>,
    signed_in: SignedIn,
) -> Result<Html<String>, WebError> {
    signed_in.require_admin()?;
    let status = state.dashboard.delivery().await?;
    let reach = lantoa_services::reach::context(&state.dashboard.reach().await?);
    let settings = &state.config.settings.reach;
    let figures = status.figures;
    let time_zone = &state.config.settings.time_zone;
    let failed: Vec<_> = status
        .failed
        .into_iter()
        .map(|row| {
            let at = super::local_time(row.created_at, time_zone);
            minijinja::context! { at, row }
        })
        .collect();
    render(
        "delivery.html",
        minijinja::context! {
            me => Me::from(&signed_in),
            figures => minijinja::context! {
                inbox_pending => figures.inbox_pending,
                inbox_parked => figures.inbox_parked,
                oldest_pending_age_seconds => figures.oldest_pending_age_seconds,
                outbox_pending => figures.outbox_pending,
                outbox_held => figures.outbox_held,
                outbox_failed_last_day => figures.outbox_failed_last_day,
            },
            held => status.held,
            failed,
            zalo_on => state.config.zalo.is_some(),
            messenger_on => state.config.messenger.is_some(),
            zalo_token_error => status.zalo_token_error,
            reach,
            zalo_templates => settings.zalo_templates.len(),
            messenger_templates => settings.messenger_templates.len(),
            email_host => state.config.email.as_ref().map(|email| email.host.clone()),
        },
    )
}
