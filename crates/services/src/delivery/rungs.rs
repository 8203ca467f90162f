//! The rungs beyond chat: which are configured and not stopped for a kind of message, and the
//! send on each (a Zalo template by user id or by phone, a Messenger utility template, an
//! email), paced and with one token refresh on Zalo.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use lantoa_config::{Config, ReachSettings};
use lantoa_core::reach::{utility_parameters, zalo_data};
use lantoa_core::templates::Templates;
use lantoa_domain::reach::{Why, tracking_id};
use lantoa_domain::{MessageKind, Rung};
use lantoa_platforms::clients::http_client;
use lantoa_platforms::reach::email::{Email, Mailer};
use lantoa_platforms::reach::utility::UtilityClient;
use lantoa_platforms::reach::zbs::{TemplateSend, ZbsClient};
use lantoa_platforms::reach::{RungOutcome, StopScope};
use lantoa_store::outbox::{Claimed, ClaimedReach};

use super::rate::RateLimiter;
use super::tokens::ZaloTokens;

/// The alert key of a rung's channel (both Zalo template rungs share ZBS's token and balance).
pub fn channel_key(rung: Rung) -> &'static str {
    match rung {
        Rung::Chat => "chat",
        Rung::ZaloTemplateUid | Rung::ZaloTemplatePhone => "zbs",
        Rung::MessengerUtility => "messenger_utility",
        Rung::Email => "email",
    }
}

/// The key an alert of `scope` is kept under.
pub fn alert_key(rung: Rung, kind: MessageKind, scope: StopScope) -> String {
    match scope {
        StopScope::Channel => channel_key(rung).to_string(),
        StopScope::Template => format!("{}:{kind}", channel_key(rung)),
        StopScope::RungTemplate => format!("{}:{kind}", rung.as_str()),
    }
}

/// The key a daily-limit rest is kept under: the OA's (`zbs:limit`) or one template's
/// (`zbs:head_reminder:limit`).
pub fn limit_key(rung: Rung, kind: MessageKind, scope: StopScope) -> String {
    match scope {
        StopScope::Channel => format!("{}:limit", channel_key(rung)),
        _ => format!("{}:{kind}:limit", channel_key(rung)),
    }
}

/// Every alert a delivery on `rung` for `kind` shows to be over: its stops, its rests, and
/// a failed start-up check of the same channel or template.
pub fn keys_cleared_by(rung: Rung, kind: MessageKind) -> Vec<String> {
    let channel = channel_key(rung);
    vec![
        channel.to_string(),
        alert_key(rung, kind, StopScope::Template),
        alert_key(rung, kind, StopScope::RungTemplate),
        limit_key(rung, kind, StopScope::Channel),
        limit_key(rung, kind, StopScope::Template),
        format!("check:{channel}"),
        format!("check:{channel}:{kind}"),
    ]
}

/// A rung stopped (or resting) until a moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stop {
    pub why: Why,
    pub until: i64,
}

/// The rungs beyond chat and what they need.
pub struct Rungs {
    pub settings: ReachSettings,
    zbs: Option<(ZbsClient, ZaloTokens)>,
    utility: Option<UtilityClient>,
    mailer: Option<Mailer>,
    pub mailer_problem: Option<String>,
    email_rate: RateLimiter,
    templates: Arc<Templates>,
    /// Alert key → stop, as this instance last read or raised them.
    stops: Mutex<HashMap<String, Stop>>,
    /// Every stop's key the store holds, over or not (a delivery clears them).
    recorded: Mutex<std::collections::HashSet<String>>,
}

impl Rungs {
    pub fn new(
        config: &Config,
        zalo_tokens: Option<ZaloTokens>,
        templates: Arc<Templates>,
    ) -> Self {
        let http = http_client();
        let zbs = config.zalo.as_ref().zip(zalo_tokens).map(|(zalo, tokens)| {
            (
                ZbsClient::new(http.clone(), &zalo.api_base, &zalo.zbs_api_base),
                tokens,
            )
        });
        let utility = config.messenger.as_ref().map(|messenger| {
            UtilityClient::new(
                http.clone(),
                &messenger.api_base,
                messenger.page_access_token.clone(),
                messenger.page_id.as_deref(),
            )
        });
        let (mailer, mailer_problem) = match config.email.as_ref().map(Mailer::new) {
            None => (None, None),
            Some(Ok(mailer)) => (Some(mailer), None),
            Some(Err(problem)) => (None, Some(problem)),
        };
        Self {
            settings: config.settings.reach.clone(),
            zbs,
            utility,
            mailer,
            mailer_problem,
            email_rate: RateLimiter::per_minute(f64::from(
                config.settings.delivery.email_per_minute,
            )),
            templates,
            stops: Mutex::default(),
            recorded: Mutex::default(),
        }
    }

    pub fn mailer(&self) -> Option<&Mailer> {
        self.mailer.as_ref()
    }

    pub fn zbs(&self) -> Option<&(ZbsClient, ZaloTokens)> {
        self.zbs.as_ref()
    }

    pub fn utility(&self) -> Option<&UtilityClient> {
        self.utility.as_ref()
    }

    /// Waits for the relay's rate (before the lease is renewed for the send).
    pub async fn pace_email(&self) {
        self.email_rate.acquire().await;
    }

    /// What one message of `kind` costs on `rung` (0 for chat and email).
    pub fn price(&self, rung: Rung, kind: MessageKind) -> i64 {
        match rung {
            Rung::ZaloTemplateUid | Rung::ZaloTemplatePhone => self
                .settings
                .zalo_templates
                .get(&kind)
                .map_or(0, |t| i64::from(t.price_vnd)),
            Rung::MessengerUtility => self
                .settings
                .messenger_templates
                .get(&kind)
                .map_or(0, |t| i64::from(t.price_vnd)),
            Rung::Chat | Rung::Email => 0,
        }
    }

    /// Why `rung` cannot carry a message of `kind` now, whoever it is for: not configured,
    /// stopped or resting. `None`: it can.
    pub fn unavailable(&self, rung: Rung, kind: MessageKind, now: i64) -> Option<Why> {
        let configured = match rung {
            Rung::Chat => true,
            Rung::ZaloTemplateUid => {
                self.zbs.is_some()
                    && self
                        .settings
                        .zalo_templates
                        .get(&kind)
                        .is_some_and(|t| t.by_user_id)
            }
            Rung::ZaloTemplatePhone => {
                self.zbs.is_some() && self.settings.zalo_templates.contains_key(&kind)
            }
            Rung::MessengerUtility => {
                self.utility.is_some() && self.settings.messenger_templates.contains_key(&kind)
            }
            Rung::Email => self.mailer.is_some(),
        };
        if !configured {
            return Some(Why::NotConfigured);
        }
        let stops = self.stops.lock().unwrap_or_else(PoisonError::into_inner);
        keys_cleared_by(rung, kind)
            .iter()
            .filter_map(|key| stops.get(key))
            .find(|stop| stop.until > now)
            .map(|stop| stop.why)
    }

    /// Replaces what this instance knows of the stops with the store's alerts: the stops
    /// still running, and the keys of every stop recorded.
    pub fn set_stops(
        &self,
        stops: HashMap<String, Stop>,
        recorded: std::collections::HashSet<String>,
    ) {
        *self.stops.lock().unwrap_or_else(PoisonError::into_inner) = stops;
        *self.recorded.lock().unwrap_or_else(PoisonError::into_inner) = recorded;
    }

    /// Notes a stop raised by this instance, before the store is read again.
    pub fn note_stop(&self, key: String, stop: Stop) {
        self.recorded
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key.clone());
        self.stops
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key, stop);
    }

    /// The recorded stops a delivery on `rung` for `kind` shows to be over, forgotten here
    /// (the caller deletes them from the store).
    pub fn take_cleared(&self, rung: Rung, kind: MessageKind) -> Vec<String> {
        let mut recorded = self.recorded.lock().unwrap_or_else(PoisonError::into_inner);
        let mut stops = self.stops.lock().unwrap_or_else(PoisonError::into_inner);
        keys_cleared_by(rung, kind)
            .into_iter()
            .filter(|key| {
                stops.remove(key);
                recorded.remove(key)
            })
            .collect()
    }

    /// Sends `row` on a template or email rung.
    pub async fn send(
        &self,
        rung: Rung,
        row: &Claimed,
        reach: &ClaimedReach,
        now: std::time::SystemTime,
    ) -> RungOutcome {
        let figures: BTreeMap<String, String> = reach
            .figures
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
            .unwrap_or_default();
        match rung {
            Rung::ZaloTemplateUid | Rung::ZaloTemplatePhone => {
                self.send_zbs(rung, row, reach, &figures).await
            }
            Rung::MessengerUtility => self.send_utility(reach, &figures).await,
            Rung::Email => self.send_email(row, reach, now).await,
            Rung::Chat => RungOutcome::NextRung {
                why: Why::NotConfigured,
                detail: "chat is sent by the delivery worker".into(),
            },
        }
    }

    async fn send_zbs(
        &self,
        rung: Rung,
        row: &Claimed,
        reach: &ClaimedReach,
        figures: &BTreeMap<String, String>,
    ) -> RungOutcome {
        let (Some((client, tokens)), Some(template)) =
            (&self.zbs, self.settings.zalo_templates.get(&reach.kind))
        else {
            return not_configured();
        };
        let data = match zalo_data(template, figures) {
            Ok(data) => data,
            Err(detail) => {
                return RungOutcome::StopRung {
                    scope: StopScope::Template,
                    detail,
                };
            }
        };
        let tracking = reach
            .tracking_id
            .clone()
            .unwrap_or_else(|| tracking_id(&row.idempotency_key));
        let send = TemplateSend {
            template_id: &template.id,
            data: &data,
            tracking_id: &tracking,
            development: self.settings.zbs_development,
        };
        let to = match rung {
            Rung::ZaloTemplateUid => reach.zalo.as_ref().map(|a| a.user_id.clone()),
            _ => reach.phone.clone(),
        };
        let Some(to) = to else {
            return not_configured();
        };
        let attempt = |token: String| {
            let (send, to) = (&send, &to);
            async move {
                match rung {
                    Rung::ZaloTemplateUid => client.send_to_user(&token, to, send).await,
                    _ => client.send_to_phone(&token, to, send).await,
                }
            }
        };
        let token = match tokens.access_token().await {
            Ok(token) => token,
            Err(err) => return token_problem(err.to_string()),
        };
        match attempt(token.clone()).await {
            RungOutcome::TokenExpired { .. } => match tokens.refresh(&token).await {
                Ok(fresh) => match attempt(fresh).await {
                    RungOutcome::TokenExpired { detail } => {
                        token_problem(format!("still refused after a token refresh: {detail}"))
                    }
                    other => other,
                },
                Err(err) => token_problem(err.to_string()),
            },
            other => other,
        }
    }

    async fn send_utility(
        &self,
        reach: &ClaimedReach,
        figures: &BTreeMap<String, String>,
    ) -> RungOutcome {
        let (Some(client), Some(template), Some(account)) = (
            &self.utility,
            self.settings.messenger_templates.get(&reach.kind),
            &reach.messenger,
        ) else {
            return not_configured();
        };
        match utility_parameters(template, figures) {
            Ok(parameters) => {
                client
                    .send(
                        &account.user_id,
                        &template.name,
                        &template.language,
                        &parameters,
                    )
                    .await
            }
            Err(detail) => RungOutcome::StopRung {
                scope: StopScope::Template,
                detail,
            },
        }
    }

    async fn send_email(
        &self,
        row: &Claimed,
        reach: &ClaimedReach,
        now: std::time::SystemTime,
    ) -> RungOutcome {
        let (Some(mailer), Some(address)) = (&self.mailer, &reach.email) else {
            return not_configured();
        };
        let footer = self
            .templates
            .render(
                "email_footer",
                &serde_json::json!({"kind": reach.kind.as_str()}),
            )
            .unwrap_or_else(|err| {
                tracing::error!(error = %err, "email_footer failed; the built-in notice is used");
                "Để thôi nhận email và tin nhắn mẫu, thầy/cô nhắn TAT EMAIL cho Lan tỏa.".into()
            });
        let body = format!("{}\n\n-- \n{footer}\n", row.body);
        let subject = reach.subject.as_deref().unwrap_or("Lan tỏa");
        mailer
            .send(&Email {
                to: address,
                to_name: &reach.full_name,
                subject,
                body: &body,
                key: &row.idempotency_key,
                date: now,
            })
            .await
    }
}

fn not_configured() -> RungOutcome {
    RungOutcome::NextRung {
        why: Why::NotConfigured,
        detail: "not configured".into(),
    }
}

fn token_problem(detail: String) -> RungOutcome {
    RungOutcome::StopRung {
        scope: StopScope::Channel,
        detail,
    }
}

/// A configured rung that failed its start-up check: the alert key and the problem.
pub type CheckProblem = (String, Rung, String);

impl Rungs {
    /// Checks every configured template (Zalo: `ENABLE` and its parameters; Messenger:
    /// `APPROVED`) and the relay (a connection and a login). What fails is reported, not
    /// fatal: the rung is still tried, and its answer decides.
    pub async fn check(&self) -> Vec<CheckProblem> {
        let mut problems = Vec::new();
        if let Some((client, tokens)) = &self.zbs {
            for (kind, template) in &self.settings.zalo_templates {
                let key = format!("check:zbs:{kind}");
                let problem = match tokens.access_token().await {
                    Ok(token) => match client.template_info(&token, &template.id).await {
                        Ok(info) => zalo_template_problem(template, &info),
                        Err(err) => Some(format!("template {}: {err}", template.id)),
                    },
                    Err(err) => Some(err.to_string()),
                };
                if let Some(problem) = problem {
                    problems.push((key, Rung::ZaloTemplatePhone, problem));
                }
            }
        }
        if let Some(client) = &self.utility {
            for (kind, template) in &self.settings.messenger_templates {
                let key = format!("check:messenger_utility:{kind}");
                let problem = match client
                    .template_status(&template.name, &template.language)
                    .await
                {
                    Ok(status) if status.eq_ignore_ascii_case("APPROVED") => None,
                    Ok(status) => Some(format!(
                        "template `{}` ({}) is {status}, not APPROVED",
                        template.name, template.language
                    )),
                    Err(err) => Some(err),
                };
                if let Some(problem) = problem {
                    problems.push((key, Rung::MessengerUtility, problem));
                }
            }
        }
        if let Some(mailer) = &self.mailer
            && let Err(problem) = mailer.check().await
        {
            problems.push(("check:email".into(), Rung::Email, problem));
        }
        problems
    }
}

/// Why a Zalo template cannot carry this kind's message as configured, if it cannot.
fn zalo_template_problem(
    template: &lantoa_config::ZaloTemplate,
    info: &lantoa_platforms::reach::zbs::TemplateInfo,
) -> Option<String> {
    if info.status != "ENABLE" {
        return Some(format!(
            "template {} is {}, not ENABLE",
            template.id, info.status
        ));
    }
    let known: Vec<&str> = info.params.iter().map(|p| p.name.as_str()).collect();
    let unknown: Vec<&str> = template
        .params
        .keys()
        .map(String::as_str)
        .filter(|param| !known.contains(param))
        .collect();
    let missing: Vec<&str> = info
        .params
        .iter()
        .filter(|p| p.required && !template.params.contains_key(&p.name))
        .map(|p| p.name.as_str())
        .collect();
    match (unknown.is_empty(), missing.is_empty()) {
        (true, true) => None,
        _ => Some(format!(
            "template {}: parameters not in the template: [{}]; required but not configured: [{}]",
            template.id,
            unknown.join(", "),
            missing.join(", ")
        )),
    }
}
