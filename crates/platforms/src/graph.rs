//! Reading a page through the Graph API with its page token: the page (id, name, follower
//! count) and its posts since a time, following `paging.next` to the end. Parsing and the
//! classification of errors are pure; [`GraphReader`] does the requests.

use std::time::Duration;

use serde_json::Value;

use lantoa_config::Secret;

/// The fields read of each post: `parent_id` (or `status_type: shared_story`) marks a share of
/// another post; the summaries give totals without the lists.
pub const POST_FIELDS: &str = "id,created_time,permalink_url,parent_id,status_type,shares,\
reactions.limit(0).summary(total_count),comments.limit(0).summary(total_count)";
pub const PAGE_FIELDS: &str = "id,name,followers_count";
/// Posts per request (Graph's maximum for a page's posts is 100).
const PAGE_SIZE: &str = "100";
/// A year of a busy page is a few thousand posts; more pages than this is a loop.
const MAX_PAGES: usize = 500;

/// The permission that reading a page's posts and followers needs.
pub const READ_PERMISSION: &str = "pages_read_engagement";
/// The permission a page's insights need (named when Graph says it is missing).
pub const INSIGHTS_PERMISSION: &str = "read_insights";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageInfo {
    pub id: String,
    pub name: Option<String>,
    pub followers: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FeedPost {
    /// Graph's id, `{page-id}_{post-id}`.
    pub id: String,
    pub created_ms: i64,
    pub permalink: Option<String>,
    pub share: bool,
    pub shares: i64,
    pub reactions: i64,
    pub comments: i64,
}

/// One answer of `/{page-id}/posts`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PostsPage {
    pub posts: Vec<FeedPost>,
    pub next: Option<String>,
    /// Entries without an id or a readable time (left out, counted for the log).
    pub skipped: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraphError {
    #[error("the page token is invalid, expired or revoked (Graph error {code}): {message}")]
    TokenInvalid { code: i64, message: String },
    #[error("the page token lacks the permission {permission} (Graph error {code}): {message}")]
    MissingPermission {
        permission: String,
        code: i64,
        message: String,
    },
    #[error("rate limited by the Graph API (error {code}): {message}")]
    RateLimited {
        code: i64,
        message: String,
        /// From `X-Business-Use-Case-Usage`'s `estimated_time_to_regain_access`.
        retry_after: Option<Duration>,
    },
    #[error("the Graph API is unavailable: {0}")]
    Unavailable(String),
    #[error("unexpected answer from the Graph API: {0}")]
    Unexpected(String),
}

/// `body` with every occurrence of `token` blanked: some of Graph's messages quote the token
/// they refuse ("Malformed access token EAA…"), and every error message Lantoa keeps comes
/// from the body, into logs, `/readyz` and the CLI.
fn redact_value(body: Value, token: &str) -> Value {
    let text = body.to_string();
    if token.len() < 8 || !text.contains(token) {
        return body;
    }
    serde_json::from_str(&text.replace(token, "[redacted]")).unwrap_or(Value::Null)
}

/// Reads Graph's `created_time` (`2026-11-26T10:00:00+0000`).
pub fn parse_time(text: &str) -> Option<i64> {
    jiff::Timestamp::strptime("%Y-%m-%dT%H:%M:%S%z", text)
        .ok()
        .map(|t| t.as_millisecond())
}

fn count(value: &Value, pointer: &str) -> i64 {
    value.pointer(pointer).and_then(Value::as_i64).unwrap_or(0)
}

fn post(entry: &Value) -> Option<FeedPost> {
    let id = entry.get("id")?.as_str().filter(|id| !id.is_empty())?;
    let created_ms = parse_time(entry.get("created_time")?.as_str()?)?;
    // A share of another post has that post as its parent. `status_type: shared_story` alone
    // is not enough: Graph gives it to a page posting a link too (its own website's article).
    let share = entry
        .get("parent_id")
        .and_then(Value::as_str)
        .is_some_and(|parent| !parent.is_empty());
    Some(FeedPost {
        id: id.to_string(),
        created_ms,
        permalink: entry
            .get("permalink_url")
            .and_then(Value::as_str)
            .map(str::to_string),
        share,
        // `shares` is absent when nobody shared the post.
        shares: count(entry, "/shares/count"),
        reactions: count(entry, "/reactions/summary/total_count"),
        comments: count(entry, "/comments/summary/total_count"),
    })
}

pub fn parse_posts_page(body: &Value) -> Result<PostsPage, GraphError> {
    let data = body
        .get("data")
        .and_then(Value::as_array)
        .ok_or_else(|| GraphError::Unexpected("posts answer without `data`".into()))?;
    let posts: Vec<FeedPost> = data.iter().filter_map(post).collect();
    Ok(PostsPage {
        skipped: data.len() - posts.len(),
        posts,
        next: body
            .pointer("/paging/next")
            .and_then(Value::as_str)
            .map(str::to_string),
    })
}

pub fn parse_page(body: &Value) -> Result<PageInfo, GraphError> {
    let id = body
        .get("id")
        .and_then(Value::as_str)
        .filter(|id| !id.is_empty())
        .ok_or_else(|| GraphError::Unexpected("page answer without `id`".into()))?;
    Ok(PageInfo {
        id: id.to_string(),
        name: body.get("name").and_then(Value::as_str).map(str::to_string),
        followers: body.get("followers_count").and_then(Value::as_i64),
    })
}

/// The permission an error message names, else the one the request needs.
fn permission_named(message: &str, needed: &str) -> String {
    let known = [
        READ_PERMISSION,
        INSIGHTS_PERMISSION,
        "pages_read_user_content",
        "pages_show_list",
        "pages_manage_metadata",
    ];
    known
        .iter()
        .find(|name| message.contains(*name))
        .unwrap_or(&needed)
        .to_string()
}

/// How long Graph says to wait, from `X-Business-Use-Case-Usage`
/// (`{"<id>":[{"type":"pages","call_count":100,…,"estimated_time_to_regain_access":15}]}`,
/// minutes).
pub fn regain_access(header: Option<&str>) -> Option<Duration> {
    let usage: Value = serde_json::from_str(header?).ok()?;
    let minutes = usage
        .as_object()?
        .values()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|entry| entry.get("estimated_time_to_regain_access")?.as_u64())
        .max()?;
    (minutes > 0).then(|| Duration::from_secs(minutes * 60))
}

/// An error answer, by Graph's error object (or the HTTP status when there is none).
/// `needed` is the permission the request needs, named when Graph does not name one.
pub fn classify(
    status: u16,
    body: Option<&Value>,
    usage_header: Option<&str>,
    needed: &str,
) -> GraphError {
    let Some(error) = body.and_then(|b| b.get("error")) else {
        return match status {
            429 => GraphError::RateLimited {
                code: 0,
                message: "HTTP 429".into(),
                retry_after: regain_access(usage_header),
            },
            500..=599 | 408 => GraphError::Unavailable(format!("HTTP {status}")),
            401 => GraphError::TokenInvalid {
                code: 0,
                message: "HTTP 401 without a Graph error".into(),
            },
            403 => GraphError::MissingPermission {
                permission: needed.to_string(),
                code: 0,
                message: "HTTP 403 without a Graph error".into(),
            },
            _ => GraphError::Unexpected(format!("HTTP {status} without a Graph error")),
        };
    };
    let code = error.get("code").and_then(Value::as_i64).unwrap_or(0);
    let message = error
        .get("message")
        .and_then(Value::as_str)
        .unwrap_or("")
        .chars()
        .take(300)
        .collect::<String>();
    match code {
        102 | 190 => GraphError::TokenInvalid { code, message },
        10 | 200..=299 => GraphError::MissingPermission {
            permission: permission_named(&message, needed),
            code,
            message,
        },
        4 | 17 | 32 | 613 | 80_001..=80_014 => GraphError::RateLimited {
            code,
            message,
            retry_after: regain_access(usage_header),
        },
        // "Object with ID … does not exist, cannot be loaded due to missing permissions":
        // the token does not open this page, which a person must mend like a permission.
        100 if error.get("error_subcode").and_then(Value::as_i64) == Some(33) => {
            GraphError::MissingPermission {
                permission: permission_named(&message, needed),
                code,
                message,
            }
        }
        1 | 2 | 1200 => GraphError::Unavailable(format!("Graph error {code}: {message}")),
        _ if status >= 500 => GraphError::Unavailable(format!("Graph error {code}: {message}")),
        _ => GraphError::Unexpected(format!("Graph error {code}: {message}")),
    }
}

/// `scheme://host[:port]` of a URL, to keep paging links on the Graph API's host.
fn origin(url: &str) -> Option<String> {
    let url = url::Url::parse(url).ok()?;
    Some(url.origin().ascii_serialization())
}

/// Requests of the Graph API with one page's token.
#[derive(Debug, Clone)]
pub struct GraphReader {
    http: reqwest::Client,
    /// `https://graph.facebook.com/v25.0` (`MESSENGER_API_BASE`): the version is in it.
    api_base: String,
}

impl GraphReader {
    pub fn new(http: reqwest::Client, api_base: &str) -> Self {
        Self {
            http,
            api_base: api_base.trim_end_matches('/').to_string(),
        }
    }

    /// The page the token belongs to (`/me` is the page for a page token).
    pub async fn page(&self, token: &Secret) -> Result<PageInfo, GraphError> {
        let url = format!("{}/me", self.api_base);
        let body = self
            .get(&url, &[("fields", PAGE_FIELDS)], token, READ_PERMISSION)
            .await?;
        parse_page(&body)
    }

    /// Every post the page published since `since_ms`, newest first, following the paging
    /// links to the end. A paging link to another host is not followed (it would carry the
    /// token elsewhere).
    pub async fn posts_since(
        &self,
        token: &Secret,
        page_id: &str,
        since_ms: i64,
    ) -> Result<Vec<FeedPost>, GraphError> {
        let since = (since_ms / 1000).to_string();
        let first = format!("{}/{page_id}/posts", self.api_base);
        let query = [
            ("fields", POST_FIELDS),
            ("since", since.as_str()),
            ("limit", PAGE_SIZE),
        ];
        let home = origin(&self.api_base);
        let mut posts = Vec::new();
        let mut page = parse_posts_page(&self.get(&first, &query, token, READ_PERMISSION).await?)?;
        for _ in 0..MAX_PAGES {
            if page.skipped > 0 {
                tracing::warn!(
                    page_id,
                    skipped = page.skipped,
                    "posts without an id or a time"
                );
            }
            let empty = page.posts.is_empty();
            posts.append(&mut page.posts);
            let Some(next) = page.next.take().filter(|_| !empty) else {
                return Ok(posts);
            };
            if origin(&next) != home {
                return Err(GraphError::Unexpected(
                    "a paging link points to another host".into(),
                ));
            }
            page = parse_posts_page(&self.get(&next, &[], token, READ_PERMISSION).await?)?;
        }
        Err(GraphError::Unexpected(format!(
            "more than {MAX_PAGES} pages of posts"
        )))
    }

    async fn get(
        &self,
        url: &str,
        query: &[(&str, &str)],
        token: &Secret,
        needed: &str,
    ) -> Result<Value, GraphError> {
        let response = self
            .http
            .get(url)
            .bearer_auth(token.expose())
            .query(query)
            .send()
            .await
            .map_err(|err| {
                GraphError::Unavailable(format!("request failed: {}", err.without_url()))
            })?;
        let status = response.status().as_u16();
        let usage = response
            .headers()
            .get("x-business-use-case-usage")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let body: Option<Value> = response.json().await.ok();
        match body {
            Some(body) if (200..300).contains(&status) && body.get("error").is_none() => Ok(body),
            body => {
                // Blank the token before the message is cut to length, or a cut token would
                // keep its first characters.
                let body = body.map(|body| redact_value(body, token.expose()));
                Err(classify(status, body.as_ref(), usage.as_deref(), needed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_page_of_posts_reads_shares_and_summaries() {
        // The shape of `/{page-id}/posts?fields=…` as Graph answers it.
        let body = json!({
            "data": [
                {"id": "104_201", "created_time": "2026-11-26T10:00:00+0000",
                 "permalink_url": "https://www.facebook.com/104/posts/201",
                 "shares": {"count": 12},
                 "reactions": {"data": [], "summary": {"total_count": 40}},
                 "comments": {"data": [], "summary": {"order": "ranked", "total_count": 3, "can_comment": true}}},
                {"id": "104_202", "created_time": "2026-11-25T01:30:00+0000",
                 "permalink_url": "https://www.facebook.com/104/posts/202",
                 "parent_id": "999_555", "status_type": "shared_story",
                 "reactions": {"data": [], "summary": {"total_count": 0}}},
                {"id": "104_204", "created_time": "2026-11-24T01:30:00+0000",
                 "permalink_url": "https://www.facebook.com/104/posts/204",
                 "status_type": "shared_story"},
                {"id": "", "created_time": "2026-11-25T01:30:00+0000"},
                {"id": "104_203", "created_time": "yesterday"}
            ],
            "paging": {"cursors": {"before": "QVFI", "after": "QVFJ"},
                       "next": "https://graph.facebook.com/v25.0/104/posts?after=QVFJ"}
        });
        let page = parse_posts_page(&body).unwrap();
        assert_eq!(page.skipped, 2);
        assert_eq!(page.posts.len(), 3);
        assert!(
            !page.posts[2].share,
            "a link the page posted is its own post, not a share"
        );
        assert_eq!(page.posts[0].shares, 12);
        assert_eq!(page.posts[0].reactions, 40);
        assert_eq!(page.posts[0].comments, 3);
        assert!(!page.posts[0].share);
        assert!(page.posts[1].share);
        assert_eq!(page.posts[1].shares, 0);
        assert_eq!(
            page.posts[0].created_ms,
            parse_time("2026-11-26T10:00:00+0000").unwrap()
        );
        assert!(page.next.unwrap().ends_with("after=QVFJ"));
        assert!(parse_posts_page(&json!({"error": {}})).is_err());
    }

    fn error(code: i64, message: &str) -> Value {
        json!({"error": {"code": code, "message": message, "type": "OAuthException"}})
    }

    #[test]
    fn errors_are_classified_as_documented() {
        assert!(matches!(
            classify(
                400,
                Some(&error(
                    190,
                    "Error validating access token: Session has expired"
                )),
                None,
                READ_PERMISSION
            ),
            GraphError::TokenInvalid { code: 190, .. }
        ));
        let permission = classify(
            403,
            Some(&error(
                10,
                "(#10) This endpoint requires the 'pages_read_engagement' permission or the 'Page Public Content Access' feature.",
            )),
            None,
            INSIGHTS_PERMISSION,
        );
        assert!(
            matches!(&permission, GraphError::MissingPermission { permission, .. } if permission == "pages_read_engagement"),
            "{permission:?}"
        );
        assert!(permission.to_string().contains("pages_read_engagement"));
        let unnamed = classify(
            400,
            Some(&error(200, "(#200) Permissions error")),
            None,
            INSIGHTS_PERMISSION,
        );
        assert!(unnamed.to_string().contains("read_insights"), "{unnamed}");
        let usage = r#"{"104":[{"type":"pages","call_count":100,"total_cputime":20,"total_time":30,"estimated_time_to_regain_access":15}]}"#;
        assert_eq!(
            classify(
                400,
                Some(&error(32, "(#32) Page request limit reached")),
                Some(usage),
                READ_PERMISSION
            ),
            GraphError::RateLimited {
                code: 32,
                message: "(#32) Page request limit reached".into(),
                retry_after: Some(Duration::from_secs(900)),
            }
        );
        assert!(matches!(
            classify(
                400,
                Some(&error(
                    80_001,
                    "There have been too many calls to this Page account."
                )),
                None,
                READ_PERMISSION
            ),
            GraphError::RateLimited {
                retry_after: None,
                ..
            }
        ));
        assert!(matches!(
            classify(503, None, None, READ_PERMISSION),
            GraphError::Unavailable(_)
        ));
        assert!(matches!(
            classify(500, Some(&error(2, "retry")), None, READ_PERMISSION),
            GraphError::Unavailable(_)
        ));
        assert!(matches!(
            classify(
                400,
                Some(&error(100, "Unsupported get request.")),
                None,
                READ_PERMISSION
            ),
            GraphError::Unexpected(_)
        ));
        // 100/33: the token does not open the page, for a person to mend.
        let missing = json!({"error": {"code": 100, "error_subcode": 33, "type": "GraphMethodException",
            "message": "Unsupported get request. Object with ID '104' does not exist, cannot be loaded due to missing permissions, or does not support this operation."}});
        assert!(matches!(
            classify(400, Some(&missing), None, READ_PERMISSION),
            GraphError::MissingPermission { code: 100, ref permission, .. } if permission == READ_PERMISSION
        ));
        assert!(matches!(
            classify(401, None, None, READ_PERMISSION),
            GraphError::TokenInvalid { .. }
        ));
        assert!(matches!(
            classify(403, None, None, READ_PERMISSION),
            GraphError::MissingPermission { .. }
        ));
    }

    #[test]
    fn a_token_in_an_error_is_blanked() {
        // A token past the cut (300 characters) is blanked before the cut, not half kept.
        let token = "EAAGlongsecrettoken0123456789";
        let long =
            json!({"error": {"code": 190, "message": format!("{}{token}", "x".repeat(290))}});
        let cut = classify(400, Some(&redact_value(long, token)), None, READ_PERMISSION);
        assert!(!cut.to_string().contains("EAAGlong"), "{cut}");
        // A message quoting the token loses it.
        let quoted = classify(
            400,
            Some(&redact_value(
                error(190, "Malformed access token EAAGsecrettoken123"),
                "EAAGsecrettoken123",
            )),
            None,
            READ_PERMISSION,
        );
        assert!(
            !quoted.to_string().contains("EAAGsecrettoken123")
                && quoted.to_string().contains("[redacted]"),
            "{quoted}"
        );
        assert_eq!(regain_access(Some("not json")), None);
        assert_eq!(regain_access(None), None);
    }

    #[test]
    fn paging_stays_on_the_graph_host() {
        assert_eq!(
            origin("https://graph.facebook.com/v25.0/1/posts?after=x"),
            origin("https://graph.facebook.com/v25.0")
        );
        assert_ne!(
            origin("https://evil.example/v25.0/1/posts"),
            origin("https://graph.facebook.com/v25.0")
        );
    }
}
