//! Zalo ZBS template messages (ZNS until 2026-01-01): pre-approved templates, paid per
//! delivered message, sent by Zalo user id (`{ZALO_API_BASE}/v3.0/oa/message/template`) or by
//! phone (`{ZALO_ZBS_API_BASE}/message/template`), and the template's status
//! (`/template/info/v2`). Research: `research/reach.md`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::{RungOutcome, StopScope, http_status, request_failure};
use lantoa_domain::reach::Why;

/// What a template send carries besides its recipient.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateSend<'a> {
    pub template_id: &'a str,
    /// Parameter → value (figures only, never names).
    pub data: &'a BTreeMap<String, String>,
    /// A stable key of the message (≤ 48 characters): the same on every attempt.
    pub tracking_id: &'a str,
    /// ZBS development mode: only to the OA's and the app's admins.
    pub development: bool,
}

/// The ZBS client; both endpoints take the OA access token.
#[derive(Debug, Clone)]
pub struct ZbsClient {
    http: reqwest::Client,
    api_base: String,
    zbs_base: String,
}

/// A template as `/template/info/v2` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateInfo {
    /// `ENABLE`, `PENDING_REVIEW`, `REJECT`, `DISABLE`.
    pub status: String,
    pub params: Vec<TemplateParam>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TemplateParam {
    pub name: String,
    pub required: bool,
}

impl ZbsClient {
    pub fn new(http: reqwest::Client, api_base: &str, zbs_base: &str) -> Self {
        Self {
            http,
            api_base: api_base.trim_end_matches('/').to_string(),
            zbs_base: zbs_base.trim_end_matches('/').to_string(),
        }
    }

    /// By Zalo user id: templates approved since 2025-12-10 only; cheaper than by phone.
    pub async fn send_to_user(
        &self,
        access_token: &str,
        user_id: &str,
        send: &TemplateSend<'_>,
    ) -> RungOutcome {
        let mut body = body(send);
        body["user_id"] = json!(user_id);
        let url = format!("{}/v3.0/oa/message/template", self.api_base);
        self.post(&url, access_token, &body).await
    }

    /// By phone (`84…`): any approved template.
    pub async fn send_to_phone(
        &self,
        access_token: &str,
        phone: &str,
        send: &TemplateSend<'_>,
    ) -> RungOutcome {
        let mut body = body(send);
        body["phone"] = json!(phone);
        let url = format!("{}/message/template", self.zbs_base);
        self.post(&url, access_token, &body).await
    }

    async fn post(&self, url: &str, access_token: &str, body: &Value) -> RungOutcome {
        let request = self
            .http
            .post(url)
            .header("access_token", access_token)
            .json(body);
        let response = match request.send().await {
            Ok(response) => response,
            Err(err) => return request_failure(&err),
        };
        let status = response.status();
        if !status.is_success() {
            return http_status(status.as_u16());
        }
        match response.json::<Value>().await {
            Ok(answer) => answer_outcome(&answer),
            Err(err) => RungOutcome::InDoubt {
                detail: format!("unreadable answer: {err}"),
            },
        }
    }

    /// The template's status and parameters, to check it before Monday.
    pub async fn template_info(
        &self,
        access_token: &str,
        template_id: &str,
    ) -> Result<TemplateInfo, String> {
        let answer: Value = self
            .http
            .get(format!("{}/template/info/v2", self.zbs_base))
            .header("access_token", access_token)
            .query(&[("template_id", template_id)])
            .send()
            .await
            .map_err(|err| format!("template info request failed: {err}"))?
            .json()
            .await
            .map_err(|err| format!("template info answer unreadable: {err}"))?;
        match answer.get("error").and_then(Value::as_i64) {
            Some(0) => {}
            Some(code) => {
                return Err(format!(
                    "zalo error {code}: {}",
                    answer.get("message").and_then(Value::as_str).unwrap_or("")
                ));
            }
            None => return Err("template info answer without an error field".into()),
        }
        let data = answer.get("data").unwrap_or(&Value::Null);
        let params = data
            .get("listParams")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|param| {
                Some(TemplateParam {
                    name: param.get("name")?.as_str()?.to_string(),
                    required: param
                        .get("require")
                        .and_then(Value::as_bool)
                        .unwrap_or(false),
                })
            })
            .collect();
        Ok(TemplateInfo {
            status: data
                .get("status")
                .and_then(Value::as_str)
                .unwrap_or("UNKNOWN")
                .to_string(),
            params,
        })
    }
}

fn body(send: &TemplateSend<'_>) -> Value {
    let mut body = json!({
        "template_id": send.template_id,
        "template_data": send.data,
        "tracking_id": send.tracking_id,
    });
    if send.development {
        body["mode"] = json!("development");
    }
    body
}

/// A ZBS answer (HTTP 200): `error` 0 with the message's id (`data.msg_id` by phone,
/// `data.message_id` by user id), or a negative code.
pub fn answer_outcome(answer: &Value) -> RungOutcome {
    match answer.get("error").and_then(Value::as_i64) {
        Some(0) => match answer
            .pointer("/data/msg_id")
            .or_else(|| answer.pointer("/data/message_id"))
            .and_then(Value::as_str)
        {
            Some(id) if !id.is_empty() => RungOutcome::Sent {
                message_id: id.to_string(),
            },
            _ => RungOutcome::InDoubt {
                detail: "success without a msg_id".into(),
            },
        },
        Some(code) => classify(
            code,
            answer.get("message").and_then(Value::as_str).unwrap_or(""),
        ),
        None => RungOutcome::InDoubt {
            detail: "answer without an error field".into(),
        },
    }
}

/// Zalo's ZBS error codes (`research/reach.md`), as the ladder acts on them.
pub fn classify(code: i64, message: &str) -> RungOutcome {
    let detail = format!("zalo error {code}: {message}");
    let stop = |scope| RungOutcome::StopRung {
        scope,
        detail: detail.clone(),
    };
    match code {
        -100 => RungOutcome::Retry { detail },
        -108 => RungOutcome::next(Why::BadPhone, detail),
        -114 | -118 | -119 | -139 | -141 => RungOutcome::next(Why::Unreachable, detail),
        // Development mode: this person is not an admin of the OA or the app.
        -127 => RungOutcome::next(Why::Refused, detail),
        -109 | -111 | -112 | -131 | -132 => stop(StopScope::Template),
        // The template was approved before 2025-12-10: by phone only.
        -249 => stop(StopScope::RungTemplate),
        // Balance, the OA not allowed to send, the development wallet empty.
        -115 | -135 | -126 => stop(StopScope::Channel),
        -124 => RungOutcome::TokenExpired { detail },
        -133 => RungOutcome::Night { detail },
        -144 => RungOutcome::DailyLimit {
            scope: StopScope::Channel,
            detail,
        },
        -147 => RungOutcome::DailyLimit {
            scope: StopScope::Template,
            detail,
        },
        // Undocumented: this message goes down the ladder; nobody else is stopped.
        _ => RungOutcome::next(Why::Refused, detail),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_documented_success_gives_its_msg_id_with_quotas_as_strings_or_numbers() {
        // research/reach.md: the success body, verbatim.
        let documented: Value = serde_json::from_str(
            r#"{"error":0,"message":"Success","data":{"msg_id":"a2e5b5f0c1d3","sent_time":"1626926349402","sending_mode":"1","quota":{"dailyQuota":"500","remainingQuota":"499"}}}"#,
        )
        .unwrap();
        assert_eq!(
            answer_outcome(&documented),
            RungOutcome::Sent {
                message_id: "a2e5b5f0c1d3".into()
            }
        );
        let numbers = json!({"error":0,"data":{"msg_id":"x","quota":{"dailyQuota":500,"remainingQuota":499}}});
        // By user id (the OA API's answer): `message_id`, the quota as `remain`.
        let by_user = json!({"error":0,"message":"Success","data":{"message_id":"b7c1","user_id":"8174","sent_time":"1626926349402","quota":{"quota_type":"purchase_quota","remain":499}}});
        assert_eq!(
            answer_outcome(&by_user),
            RungOutcome::Sent {
                message_id: "b7c1".into()
            }
        );
        assert!(matches!(answer_outcome(&numbers), RungOutcome::Sent { .. }));
        assert!(matches!(
            answer_outcome(&json!({"error":0,"data":{}})),
            RungOutcome::InDoubt { .. }
        ));
    }

    #[test]
    fn every_documented_code_has_its_move() {
        let next = |code| match classify(code, "") {
            RungOutcome::NextRung { why, .. } => Some(why),
            _ => None,
        };
        assert_eq!(next(-108), Some(Why::BadPhone));
        for code in [-114, -118, -119, -139, -141] {
            assert_eq!(next(code), Some(Why::Unreachable), "{code}");
        }
        for code in [-109, -111, -112, -131, -132] {
            assert!(matches!(
                classify(code, ""),
                RungOutcome::StopRung {
                    scope: StopScope::Template,
                    ..
                }
            ));
        }
        for code in [-115, -135] {
            assert!(matches!(
                classify(code, ""),
                RungOutcome::StopRung {
                    scope: StopScope::Channel,
                    ..
                }
            ));
        }
        assert!(matches!(classify(-100, ""), RungOutcome::Retry { .. }));
        assert!(matches!(
            classify(-124, ""),
            RungOutcome::TokenExpired { .. }
        ));
        assert!(matches!(classify(-133, ""), RungOutcome::Night { .. }));
        for code in [-144, -147] {
            assert!(matches!(classify(code, ""), RungOutcome::DailyLimit { .. }));
        }
        assert_eq!(next(-999), Some(Why::Refused));
    }

    #[test]
    fn a_send_carries_the_tracking_id_and_development_mode_only_when_asked() {
        let data = BTreeMap::from([("tuan".to_string(), "2025-W12".to_string())]);
        let send = TemplateSend {
            template_id: "384920",
            data: &data,
            tracking_id: "remind_2025_W12_HT001",
            development: false,
        };
        let sent = body(&send);
        assert_eq!(sent["tracking_id"], "remind_2025_W12_HT001");
        assert_eq!(sent["template_data"]["tuan"], "2025-W12");
        assert!(sent.get("mode").is_none());
        assert_eq!(
            body(&TemplateSend {
                development: true,
                ..send
            })["mode"],
            "development"
        );
    }
}
