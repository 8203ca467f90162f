//! The weekly jobs against the database: standings for a period, queuing reminders.

use std::sync::Arc;

use super::period::Period;
use super::reminders;
use super::standings::{self, Inputs, Standings};
use crate::calendar::IsoWeek;
use crate::channels::Platform;
use crate::config::Config;
use crate::delivery::outbox::{self, NewMessage};
use crate::store::weekly::{self as queries, Range};
use crate::store::{Db, StoreError, now_ms};
use crate::templates::{TemplateError, Templates};

#[derive(Debug, thiserror::Error)]
pub enum JobError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Template(#[from] TemplateError),
}

impl From<sqlx::Error> for JobError {
    fn from(err: sqlx::Error) -> Self {
        Self::Store(StoreError::Database(err))
    }
}

/// One message a job wants to send (or, in a dry run, would send).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub staff_code: String,
    pub full_name: String,
    /// `None`: the person has no reachable chat account.
    pub platform: Option<Platform>,
    pub text: String,
    /// Queued by this run; false when it was queued before (or in a dry run).
    pub queued: bool,
}

#[derive(Clone)]
pub struct Weekly {
    db: Db,
    config: Arc<Config>,
    templates: Arc<Templates>,
}

impl Weekly {
    pub fn new(db: Db, config: Arc<Config>, templates: Arc<Templates>) -> Self {
        Self {
            db,
            config,
            templates,
        }
    }

    pub async fn standings(&self, period: &Period) -> Result<(Standings, Inputs, Range), JobError> {
        let range = period.range(&self.config.settings.time_zone);
        let inputs = queries::load_inputs(&self.db, &range).await?;
        let settings = &self.config.settings;
        let standings = standings::compute(
            &period.label,
            &range.weeks,
            |week| settings.is_paused(week),
            &settings.quota,
            &inputs,
        );
        Ok((standings, inputs, range))
    }

    /// Every counted link of the period, for the evidence sheet.
    pub async fn evidence(&self, range: &Range) -> Result<Vec<crate::reports::EvidenceRow>, JobError> {
        let rows = queries::load_evidence(&self.db, range).await?;
        let time_zone = &self.config.settings.time_zone;
        Ok(rows
            .into_iter()
            .map(
                |(unit_code, unit_name, staff_code, full_name, received_at, week, url, key, page_unit, unit_id)| {
                    crate::reports::EvidenceRow {
                        unit_code,
                        unit_name,
                        staff_code,
                        full_name,
                        received_at: jiff::Timestamp::from_millisecond(received_at)
                            .unwrap_or_default()
                            .to_zoned(time_zone.clone())
                            .strftime("%Y-%m-%d %H:%M")
                            .to_string(),
                        week,
                        url,
                        key,
                        kind: if page_unit == Some(unit_id) {
                            "bài trên trang đơn vị".to_string()
                        } else {
                            "chia sẻ".to_string()
                        },
                    }
                },
            )
            .collect())
    }

    /// Queues the reminders for a finished week, once per (week, person): a second run queues
    /// nothing new. A paused week sends nothing.
    pub async fn remind(&self, week: IsoWeek, dry_run: bool) -> Result<Vec<Outgoing>, JobError> {
        if self.config.settings.is_paused(week) {
            tracing::info!(%week, "paused week: no reminders");
            return Ok(Vec::new());
        }
        let (standings, inputs, _) = self.standings(&Period::week(week)).await?;
        let planned = reminders::plan(&week.to_string(), &standings, &inputs);
        let accounts = queries::reachable_accounts(&self.db).await?;
        // Reminders about a week stop being worth sending when the next one ends.
        let relevant_until = Period::week(week.next())
            .range(&self.config.settings.time_zone)
            .to_ms;
        let mut outgoing = Vec::new();
        let mut messages = Vec::new();
        for reminder in planned {
            let person = inputs
                .staff
                .iter()
                .find(|p| p.id == reminder.staff_id)
                .expect("planned from inputs");
            let text = self
                .templates
                .render(reminder.template, &reminder.context)?;
            let account = accounts.get(&reminder.staff_id);
            let platform = account.and_then(|(platform, _, _)| Platform::parse(platform));
            if let Some((_, user_id, identity_id)) = account {
                messages.push((
                    outgoing.len(),
                    NewMessage {
                        idempotency_key: format!("remind:{week}:{}", person.code),
                        platform: platform.expect("stored platforms parse"),
                        recipient_id: user_id.clone(),
                        identity_id: Some(*identity_id),
                        purpose: "reminder",
                        messaging_type: "UPDATE",
                        body: text.clone(),
                        relevant_until: Some(relevant_until),
                    },
                ));
            }
            outgoing.push(Outgoing {
                staff_code: person.code.clone(),
                full_name: person.full_name.clone(),
                platform,
                text,
                queued: false,
            });
        }
        if !dry_run && !messages.is_empty() {
            let _writing = self.db.write_lock().await;
            let mut tx = self.db.begin_write().await?;
            let now = now_ms();
            for (index, message) in &messages {
                outgoing[*index].queued = outbox::enqueue(&mut tx, message, now).await? > 0;
            }
            tx.commit().await?;
        }
        Ok(outgoing)
    }
}
