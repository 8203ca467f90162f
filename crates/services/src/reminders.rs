//! The Monday reminders: to each head of a unit that fell behind last week, to each head of a
//! unit over others about the units under them, and one summary to the Văn phòng.

use lantoa_core::weekly::period::Period;
use lantoa_core::weekly::reminders;
use lantoa_domain::calendar::IsoWeek;
use lantoa_store::weekly as queries;

use crate::context::Context;
use crate::reports::Reports;
use crate::weekly::{JobError, Outgoing, Planned, queue, subject};

#[derive(Clone)]
pub struct Reminders {
    cx: Context,
    reports: Reports,
}

impl Reminders {
    pub fn new(cx: Context) -> Self {
        Self {
            reports: Reports::new(cx.clone()),
            cx,
        }
    }

    /// Queues the reminders for a finished week, once per (week, person): a second run queues
    /// nothing new. A paused week sends nothing.
    pub async fn remind(&self, week: IsoWeek, dry_run: bool) -> Result<Vec<Outgoing>, JobError> {
        if self.cx.config.settings.is_paused(week) {
            tracing::info!(%week, "paused week: no reminders");
            return Ok(Vec::new());
        }
        let (standings, inputs, _) = self.reports.standings(&Period::week(week)).await?;
        let planned = reminders::plan(&week.to_string(), &standings, &inputs);
        // Reminders about a week stop being worth sending when the next one ends.
        let relevant_until = Period::week(week.next())
            .range(&self.cx.config.settings.time_zone)
            .to_ms;
        // The Văn phòng sees who has messages waiting for their window to reopen …
        let held = queries::held_messages(&self.cx.db, 5).await?;
        // … and how many accounts were stopped for guessing registration codes.
        let week_start = Period::week(week)
            .range(&self.cx.config.settings.time_zone)
            .from_ms;
        let throttled =
            lantoa_store::identity::count_throttled_accounts(&self.cx.db, week_start).await?;
        // … and the pages whose token or permission someone must renew.
        let page_problems = crate::pages::problems::problems(&self.cx.db).await?;
        // … and what the ladder did, cost and could not do.
        let reach = crate::reach::context(&crate::reach::status(&self.cx).await?);
        let mut messages = Vec::new();
        for mut reminder in planned {
            let text = if reminder.template == "reminder_admin" {
                reminder.context["held"] = serde_json::json!(held);
                reminder.context["throttled"] = serde_json::json!(throttled);
                reminder.context["page_problems"] = serde_json::json!(page_problems);
                reminder.context["reach"] = reach.clone();
                reminders::render_admin_summary(&self.cx.templates, &mut reminder.context)?
            } else {
                self.cx
                    .templates
                    .render(reminder.template, &reminder.context)?
            };
            let Some(person) = inputs.leaders.iter().find(|p| p.id == reminder.staff_id) else {
                continue;
            };
            let kind = reminder.kind();
            let figures = reminder.figures(&standings);
            let unit_name = figures.get("unit_name").cloned().unwrap_or_default();
            messages.push(Planned {
                person,
                key: format!("remind:{week}:{}", person.code),
                purpose: "reminder",
                text,
                relevant_until,
                kind,
                figures,
                subject: subject(&self.cx, kind, &week.to_string(), &unit_name)?,
            });
        }
        queue(&self.cx, messages, dry_run).await
    }
}
