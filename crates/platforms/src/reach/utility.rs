//! Messenger utility messages: an approved `UTILITY` template sent after the 24-hour window
//! (the non-human message tags were retired on 2026-04-27). No opt-in, never promotional.
//! Research: `research/reach.md`.

use serde_json::{Value, json};

use super::{RungOutcome, StopScope, http_status, request_failure};
use lantoa_config::Secret;
use lantoa_domain::reach::Why;

#[derive(Debug, Clone)]
pub struct UtilityClient {
    http: reqwest::Client,
    api_base: String,
    page_token: Secret,
    /// The page whose templates these are (`me` when the configuration names none).
    page: String,
}

impl UtilityClient {
    pub fn new(
        http: reqwest::Client,
        api_base: &str,
        page_token: Secret,
        page_id: Option<&str>,
    ) -> Self {
        Self {
            http,
            api_base: api_base.trim_end_matches('/').to_string(),
            page_token,
            page: page_id.unwrap_or("me").to_string(),
        }
    }

    /// Sends template `name` in `language` to `psid`, its body's parameters in order.
    pub async fn send(
        &self,
        psid: &str,
        name: &str,
        language: &str,
        parameters: &[String],
    ) -> RungOutcome {
        let request = self
            .http
            .post(format!("{}/{}/messages", self.api_base, self.page))
            .bearer_auth(self.page_token.expose())
            .json(&payload(psid, name, language, parameters));
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => return request_failure(&err),
        };
        let status = response.status();
        let body: Option<Value> = response.json().await.ok();
        if status.is_success() {
            return match body
                .as_ref()
                .and_then(|b| b.get("message_id"))
                .and_then(Value::as_str)
            {
                Some(id) => RungOutcome::Sent {
                    message_id: id.to_string(),
                },
                None => RungOutcome::InDoubt {
                    detail: "success without a message_id".into(),
                },
            };
        }
        match body.as_ref().and_then(|b| b.get("error")) {
            Some(error) => classify(
                error.get("code").and_then(Value::as_i64).unwrap_or(0),
                error.get("error_subcode").and_then(Value::as_i64),
                error.get("message").and_then(Value::as_str).unwrap_or(""),
            ),
            None => http_status(status.as_u16()),
        }
    }

    /// The template's review status (`APPROVED` when it may be sent), or why it cannot be read.
    pub async fn template_status(&self, name: &str, language: &str) -> Result<String, String> {
        let answer: Value = self
            .http
            .get(format!("{}/{}/message_templates", self.api_base, self.page))
            .bearer_auth(self.page_token.expose())
            .query(&[("name", name)])
            .send()
            .await
            .map_err(|err| format!("template request failed: {err}"))?
            .json()
            .await
            .map_err(|err| format!("template answer unreadable: {err}"))?;
        if let Some(error) = answer.get("error") {
            return Err(format!("messenger error {error}"));
        }
        answer
            .get("data")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .find(|template| {
                template.get("name").and_then(Value::as_str) == Some(name)
                    && template.get("language").and_then(Value::as_str) == Some(language)
            })
            .and_then(|template| template.get("status").and_then(Value::as_str))
            .map(str::to_string)
            .ok_or_else(|| format!("no template `{name}` in `{language}` on the page"))
    }
}

fn payload(psid: &str, name: &str, language: &str, parameters: &[String]) -> Value {
    let parameters: Vec<Value> = parameters
        .iter()
        .map(|text| json!({"type": "text", "text": text}))
        .collect();
    // Graph's Page Messages reference: the template goes under `message.template` (an
    // `attachment` wrapper is refused with `(#100) Invalid template type`).
    json!({
        "recipient": {"id": psid},
        "messaging_type": "UTILITY",
        "message": {"template": {
            "name": name,
            "language": {"code": language},
            "components": [{"type": "BODY", "parameters": parameters}],
        }},
    })
}

/// Graph errors of a utility send, as the ladder acts on them.
pub fn classify(code: i64, subcode: Option<i64>, message: &str) -> RungOutcome {
    let detail = match subcode {
        Some(subcode) => format!("messenger error {code}/{subcode}: {message}"),
        None => format!("messenger error {code}: {message}"),
    };
    match code {
        // The person is not available (blocked the page, deleted their account).
        551 => RungOutcome::NextRung {
            why: Why::Unreachable,
            detail,
        },
        // A name and language the page has no approved template for, or wrong parameters.
        100 => RungOutcome::StopRung {
            scope: StopScope::Template,
            detail,
        },
        // The page token, or a permission (`page_utility_messaging`).
        190 | 200 | 230 | 10 => RungOutcome::StopRung {
            scope: StopScope::Channel,
            detail,
        },
        4 | 32 | 613 | 2 | 1200 => RungOutcome::Retry { detail },
        _ => RungOutcome::NextRung {
            why: Why::Refused,
            detail,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_payload_is_the_documented_shape() {
        let sent = payload(
            "1254459154682919",
            "nhac_bao_cao_tuan",
            "vi",
            &["THCS Lê Lợi".into(), "2025-W12".into()],
        );
        assert_eq!(sent["messaging_type"], "UTILITY");
        let template = &sent["message"]["template"];
        assert_eq!(template["name"], "nhac_bao_cao_tuan");
        assert_eq!(template["language"]["code"], "vi");
        assert_eq!(
            template["components"][0]["parameters"][1]["text"],
            "2025-W12"
        );
    }

    #[test]
    fn errors_move_the_ladder() {
        assert!(matches!(
            classify(551, Some(1_545_041), ""),
            RungOutcome::NextRung {
                why: Why::Unreachable,
                ..
            }
        ));
        assert!(matches!(
            classify(100, None, "Invalid parameter"),
            RungOutcome::StopRung {
                scope: StopScope::Template,
                ..
            }
        ));
        assert!(matches!(
            classify(190, None, ""),
            RungOutcome::StopRung {
                scope: StopScope::Channel,
                ..
            }
        ));
        assert!(matches!(classify(613, None, ""), RungOutcome::Retry { .. }));
    }
}
