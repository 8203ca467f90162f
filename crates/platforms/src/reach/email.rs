//! Email through the department's SMTP relay (`LANTOA_SMTP_URL`), with lettre: free, no
//! window, the written record an administration expects. A message's `Message-ID` is stable
//! per kind, week and person, so a resend after a crash collapses into one message.

use std::time::{Duration, SystemTime};

use lettre::message::{Mailbox, header::ContentType};
use lettre::transport::smtp::authentication::Mechanism;
use lettre::transport::smtp::{Error as SmtpError, PoolConfig};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};

use super::{RungOutcome, StopScope};
use lantoa_config::EmailConfig;
use lantoa_domain::reach::{Why, tracking_id};

/// How long one email may take, the relay's answer to its end included.
const SEND_TIMEOUT: Duration = Duration::from_secs(45);

/// One email to one person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email<'a> {
    pub to: &'a str,
    pub to_name: &'a str,
    pub subject: &'a str,
    pub body: &'a str,
    /// The outbox key: the `Message-ID` is made from it, the same on every attempt.
    pub key: &'a str,
    pub date: SystemTime,
}

/// Sends through the relay, a few connections kept open.
#[derive(Clone)]
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    domain: String,
}

impl std::fmt::Debug for Mailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mailer").field("from", &self.from).finish()
    }
}

impl Mailer {
    /// The relay the configuration names; an error says what to fix. Needs a Tokio runtime
    /// (the connection pool starts a task).
    pub fn new(config: &EmailConfig) -> Result<Self, String> {
        let from: Mailbox = config
            .from
            .parse()
            .map_err(|err| format!("LANTOA_MAIL_FROM `{}`: {err}", config.from))?;
        let domain = from.email.domain().to_string();
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::from_url(config.url.expose())
            .map_err(|err| format!("LANTOA_SMTP_URL: {err}"))?
            .timeout(Some(Duration::from_secs(30)))
            .pool_config(PoolConfig::new().max_size(8));
        if config.xoauth2 {
            builder = builder.authentication(vec![Mechanism::Xoauth2]);
        }
        Ok(Self {
            transport: builder.build(),
            from,
            domain,
        })
    }

    /// The `Message-ID` of the message with outbox key `key`.
    pub fn message_id(&self, key: &str) -> String {
        format!("<lantoa.{}@{}>", tracking_id(key), self.domain)
    }

    /// Sends one email; what the relay answered, classified.
    pub async fn send(&self, email: &Email<'_>) -> RungOutcome {
        let message_id = self.message_id(email.key);
        let message = match self.build(email, &message_id) {
            Ok(message) => message,
            Err(detail) => {
                return RungOutcome::NextRung {
                    why: Why::BadAddress,
                    detail,
                };
            }
        };
        // lettre's own timeout does not cover the wait for the answer to the message's end.
        match tokio::time::timeout(SEND_TIMEOUT, self.transport.send(message)).await {
            Ok(Ok(_)) => RungOutcome::Sent { message_id },
            Ok(Err(err)) => classify(&err),
            Err(_) => RungOutcome::InDoubt {
                detail: format!(
                    "the relay did not answer within {} s",
                    SEND_TIMEOUT.as_secs()
                ),
            },
        }
    }

    fn build(&self, email: &Email<'_>, message_id: &str) -> Result<Message, String> {
        let address = email
            .to
            .parse()
            .map_err(|err| format!("`{}` is not an address: {err}", email.to))?;
        let to = Mailbox::new(Some(email.to_name.to_string()), address);
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(email.subject)
            .message_id(Some(message_id.to_string()))
            .date(email.date)
            .header(ContentType::TEXT_PLAIN)
            .body(email.body.to_string())
            .map_err(|err| format!("cannot build the message: {err}"))
    }

    /// Opens a connection and says hello (and logs in): a relay that refuses shows at start-up.
    pub async fn check(&self) -> Result<(), String> {
        match self.transport.test_connection().await {
            Ok(true) => Ok(()),
            Ok(false) => Err("the relay did not answer NOOP".into()),
            Err(err) => Err(err.to_string()),
        }
    }
}

/// The relay's answer, as the ladder acts on it: 4xx again later; a bad address (5.1.x) the
/// next rung and a flag on the address; a refused login or policy (535, 530, 5.7.x) stops
/// email for everyone.
pub fn classify(err: &SmtpError) -> RungOutcome {
    let detail = err.to_string();
    if let Some(code) = err.status() {
        let code = code.to_string();
        return classify_reply(&code, &detail);
    }
    if err.is_timeout() {
        // The message may have gone out: sent again, the same Message-ID collapses it.
        return RungOutcome::InDoubt { detail };
    }
    if err.is_tls() || err.is_client() {
        return RungOutcome::StopRung {
            scope: StopScope::Channel,
            detail,
        };
    }
    RungOutcome::Retry { detail }
}

/// A negative reply by its code and text. Only our login or our account stops email for
/// everyone (530, 534, 535, 538; Microsoft 365's 5.7.30, 5.7.57, 5.7.139); another policy
/// refusal (5.7.1 recipient rejected, spam) concerns this person.
pub fn classify_reply(code: &str, detail: &str) -> RungOutcome {
    let detail = detail.to_string();
    if code.starts_with('4') {
        return RungOutcome::Retry { detail };
    }
    let says = |status: &str| {
        detail.contains(&format!(" {status} "))
            || detail.contains(&format!(" {status}:"))
            || detail.ends_with(&format!(" {status}"))
    };
    let our_login = matches!(code, "530" | "534" | "535" | "538")
        || ["5.7.30", "5.7.57", "5.7.139"].iter().any(|s| says(s));
    if our_login {
        return RungOutcome::StopRung {
            scope: StopScope::Channel,
            detail,
        };
    }
    if detail.contains(" 5.1.") {
        return RungOutcome::NextRung {
            why: Why::BadAddress,
            detail,
        };
    }
    RungOutcome::NextRung {
        why: Why::Refused,
        detail,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_move_the_ladder_as_the_relays_document() {
        assert!(matches!(
            classify_reply("421", "transient error (421): 4.3.2 Service not available"),
            RungOutcome::Retry { .. }
        ));
        assert!(matches!(
            classify_reply("451", "transient error (451): 4.7.1 Try again later"),
            RungOutcome::Retry { .. }
        ));
        assert!(matches!(
            classify_reply(
                "550",
                "permanent error (550): 5.1.1 The email account that you tried to reach does not exist"
            ),
            RungOutcome::NextRung {
                why: Why::BadAddress,
                ..
            }
        ));
        assert!(matches!(
            classify_reply(
                "535",
                "permanent error (535): 5.7.8 Username and Password not accepted"
            ),
            RungOutcome::StopRung {
                scope: StopScope::Channel,
                ..
            }
        ));
        // Microsoft 365 with basic authentication switched off.
        assert!(matches!(
            classify_reply(
                "550",
                "permanent error (550): 5.7.30 Basic authentication is not supported for Client Submission"
            ),
            RungOutcome::StopRung { .. }
        ));
        assert!(matches!(
            classify_reply("552", "permanent error (552): 5.3.4 Message size exceeds"),
            RungOutcome::NextRung {
                why: Why::Refused,
                ..
            }
        ));
        // A policy refusal of one recipient is that person's, not everyone's.
        assert!(matches!(
            classify_reply(
                "550",
                "permanent error (550): 5.7.1 Recipient address rejected: Access denied"
            ),
            RungOutcome::NextRung {
                why: Why::Refused,
                ..
            }
        ));
        assert!(matches!(
            classify_reply(
                "550",
                "permanent error (550): 5.7.139 Authentication unsuccessful, the user credentials were incorrect"
            ),
            RungOutcome::StopRung { .. }
        ));
    }

    #[tokio::test]
    async fn the_message_id_is_stable_per_key_and_on_the_senders_domain() {
        let config = EmailConfig {
            url: lantoa_config::Secret::new("smtp://127.0.0.1:2525"),
            host: "127.0.0.1".into(),
            xoauth2: false,
            from: "Lan tỏa <lantoa@sogddt.example.vn>".into(),
        };
        let mailer = Mailer::new(&config).unwrap();
        let id = mailer.message_id("remind:2025-W12:HT001");
        assert_eq!(id, "<lantoa.remind_2025_W12_HT001@sogddt.example.vn>");
        assert_ne!(id, mailer.message_id("remind:2025-W13:HT001"));
    }
}
