//! How the ladder stands, for the Gửi tin page and the Văn phòng's Monday summary: what each
//! rung delivered in the last seven days, what paid templates cost against the budget, the
//! rungs stopped for everyone and the addresses and phone numbers to fix.

use serde_json::{Value, json};

use lantoa_domain::ids::StaffId;
use lantoa_store::StoreError;
use lantoa_store::identity::AuditEntry;
use lantoa_store::reach::{self as records, Alert, ReachContact, ReachFigures};

use crate::audit::Actor;
use crate::context::Context;

/// The span the figures cover.
const SPAN_MS: i64 = 7 * 86_400_000;
/// People listed at most (addresses, phones).
const LISTED: i64 = 20;

#[derive(Debug, Clone, Default)]
pub struct ReachStatus {
    pub figures: ReachFigures,
    pub alerts: Vec<Alert>,
    /// The weekly budget for paid templates, and what this ISO week spent of it.
    pub budget_vnd: u64,
    pub spent_this_week: i64,
}

pub async fn status(cx: &Context) -> Result<ReachStatus, StoreError> {
    let now = cx.clock.now_ms();
    Ok(ReachStatus {
        figures: records::figures(&cx.db, now - SPAN_MS, now + 1, LISTED).await?,
        alerts: records::active_alerts(&cx.db, now).await?,
        budget_vnd: cx.config.settings.reach.weekly_budget_vnd,
        spent_this_week: records::spent(&cx.db, &cx.current_week().to_string()).await?,
    })
}

/// A person's own choice: email and paid templates, or chat only (`TAT EMAIL`/`BAT EMAIL`
/// in chat, the same on the dashboard).
#[derive(Clone)]
pub struct ReachChoice {
    cx: Context,
}

impl ReachChoice {
    pub fn new(cx: Context) -> Self {
        Self { cx }
    }

    /// How Lantoa may reach `staff_id` beyond chat.
    pub async fn contact(&self, staff_id: StaffId) -> Result<Option<ReachContact>, StoreError> {
        records::contact(&self.cx.db, staff_id).await
    }

    /// Stops (`on` false) or resumes email and paid templates for `staff_id`, audited.
    pub async fn set(&self, staff_id: StaffId, on: bool, actor: &Actor) -> Result<(), StoreError> {
        let now = self.cx.clock.now_ms();
        let mut tx = self.cx.db.write().await?;
        records::set_opt_out(&mut tx, staff_id, !on, now).await?;
        lantoa_store::identity::audit(
            &mut tx,
            &AuditEntry {
                action: if on { "bat_email" } else { "tat_email" },
                actor: actor.code.clone(),
                actor_staff_id: actor.staff_id,
                actor_identity_id: None,
                subject_staff_id: Some(staff_id),
                detail: if actor.web {
                    "web".into()
                } else {
                    String::new()
                },
            },
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

/// A rung's name for people.
pub fn rung_label(rung: &str) -> &'static str {
    match rung {
        "chat" => "tin nhắn trong khung chat",
        "zalo_template_uid" => "tin mẫu Zalo theo tài khoản",
        "zalo_template_phone" => "tin mẫu Zalo theo số điện thoại",
        "messenger_utility" => "tin mẫu Messenger",
        "email" => "email",
        _ => "khác",
    }
}

/// A rung's short name, for the Monday summary.
pub fn rung_short(rung: &str) -> &'static str {
    match rung {
        "chat" => "chat",
        "zalo_template_uid" => "Zalo mẫu (tài khoản)",
        "zalo_template_phone" => "Zalo mẫu (SĐT)",
        "messenger_utility" => "Messenger mẫu",
        "email" => "email",
        _ => "khác",
    }
}

/// Thousands with dots, as Vietnamese write money.
pub fn vnd(amount: i64) -> String {
    let digits = amount.unsigned_abs().to_string();
    let mut grouped = String::new();
    for (index, digit) in digits.chars().enumerate() {
        if index > 0 && (digits.len() - index).is_multiple_of(3) {
            grouped.push('.');
        }
        grouped.push(digit);
    }
    if amount < 0 {
        format!("-{grouped}")
    } else {
        grouped
    }
}

/// The status as the templates read it.
pub fn context(status: &ReachStatus) -> Value {
    let figures = &status.figures;
    json!({
        "delivered": figures.delivered.iter()
            .map(|(rung, count)| json!({"rung": rung, "label": rung_label(rung), "short": rung_short(rung), "count": count}))
            .collect::<Vec<_>>(),
        "confirmed": figures.confirmed,
        "past_budget": figures.past_budget,
        "past_budget_by_email": figures.past_budget_by_email,
        "in_doubt": figures.in_doubt,
        "cost_vnd": figures.cost_vnd,
        "cost_text": vnd(figures.cost_vnd),
        "budget_text": vnd(i64::try_from(status.budget_vnd).unwrap_or(i64::MAX)),
        "spent_text": vnd(status.spent_this_week),
        "bad_addresses": figures.bad_addresses,
        "bad_phones": figures.bad_phones,
        "stopped": stopped(&status.alerts),
        "alerts": status.alerts.iter()
            .map(|alert| json!({"key": alert.alert_key, "rung": rung_label(&alert.rung), "problem": alert.problem}))
            .collect::<Vec<_>>(),
    })
}

/// The channels stopped for everyone, each named once.
fn stopped(alerts: &[Alert]) -> Vec<&'static str> {
    let mut names: Vec<&'static str> = alerts
        .iter()
        .filter(|alert| alert.stopped == 1 || alert.alert_key.starts_with("check:"))
        .map(|alert| rung_label(&alert.rung))
        .collect();
    names.sort_unstable();
    names.dedup();
    names
}

#[cfg(test)]
mod tests {
    use super::vnd;

    #[test]
    fn money_reads_as_vietnamese_write_it() {
        assert_eq!(vnd(0), "0");
        assert_eq!(vnd(250), "250");
        assert_eq!(vnd(500_000), "500.000");
        assert_eq!(vnd(1_234_567), "1.234.567");
    }
}
