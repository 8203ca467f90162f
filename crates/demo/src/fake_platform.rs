//! An in-process fake of the Zalo OA Open API, Zalo OAuth v4 and the Messenger Graph Send API.
//!
//! [`FakePlatform::start`] serves the fake on `127.0.0.1` with a random port. It speaks the
//! documented request and response formats (see `shared/research/zalo.md` and
//! `shared/research/messenger.md`), records every send and token refresh it receives, and can
//! inject documented errors, latency and rate limiting. Integration tests and `lantoa demo`
//! point the real platform clients at it through [`FakePlatform::zalo_api_base`],
//! [`FakePlatform::zalo_oauth_base`], [`FakePlatform::zbs_api_base`] and
//! [`FakePlatform::messenger_api_base`].
//!
//! Endpoints (relative to [`FakePlatform::base_url`]):
//!
//! | Method and path | Imitates |
//! |---|---|
//! | `POST /zalo/v3.0/oa/message/cs` | Zalo customer-service text message |
//! | `POST /zalo/v3.0/oa/message/template` | ZBS template message by Zalo user id |
//! | `POST /zbs/message/template` | ZBS template message by phone (then its ZNS receipt) |
//! | `GET /zbs/template/info/v2?template_id=…` | ZBS template details (`listParams`, price) |
//! | `GET /zbs/message/quota` | ZBS daily quota of the OA |
//! | `GET /zbs/message/status?message_id=…` | ZBS delivery status of one message |
//! | `GET /zalo/v2.0/oa/conversation?data={…}` | Zalo conversation history with one user |
//! | `GET /zalo/v3.0/oa/user/detail?data={…}` | Zalo user detail (the display name) |
//! | `GET /graph/v25.0/{psid}` | Messenger User Profile (first and last name) |
//! | `POST /zalo-oauth/v4/oa/access_token` | Zalo OAuth v4 refresh-token grant |
//! | `POST /graph/v25.0/{me or PAGE_ID}/messages` | Messenger Send API (text, utility templates) |
//! | `GET /graph/v25.0/{me or PAGE_ID}/message_templates?name=…` | the Page's utility templates |
//! | `GET /graph/v25.0/{me or PAGE_ID}/conversations?user_id=…` | Messenger Conversations API |
//! | `GET /graph/v25.0/{me or page id}?fields=id,name,followers_count` | a page's fields (page token) |
//! | `GET /graph/v25.0/{me or page id}/posts?fields=…&since=…&limit=…&after=…` | a page's posts, paged |

use std::collections::hash_map::RandomState;
use std::collections::{BTreeMap, HashMap, VecDeque};
use std::fmt;
use std::hash::BuildHasher;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};
use tokio::net::TcpListener;
use tokio::sync::watch;

mod messenger;
mod utility;
mod zalo;
mod zbs;

use messenger::*;
pub use utility::UTILITY_PREFIX;
use utility::*;
use zalo::*;
use zbs::*;
pub use zbs::{FakeZbsTemplate, ZbsAttempt, ZbsRecipient, ZbsSent, ZnsReceipts};

/// The Zalo Official Account ID the fake reports as the sender (`from_id`) of OA messages.
pub const ZALO_OA_ID: &str = "579745863508352884";
/// The Facebook Page ID the fake reports as the sender of Page messages.
pub const MESSENGER_PAGE_ID: &str = "PAGE_ID";
/// How a `request_user_info` card shows in [`FakePlatform::sent`]: this, then its subtitle.
pub const REQUEST_USER_INFO_PREFIX: &str = "[request_user_info] ";
/// The longest text both platforms accept, counted in characters.
const MAX_TEXT_CHARS: usize = 2000;

/// Which platform a send went to, or which platform a fault or rate limit applies to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FakeChannel {
    Zalo,
    Messenger,
}

/// A message the fake accepted (answered with success).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentMessage {
    pub channel: FakeChannel,
    /// Zalo `user_id` or Messenger PSID.
    pub recipient: String,
    pub text: String,
    /// The `message_id` the fake answered with.
    pub message_id: String,
    /// Messenger `messaging_type` as sent by the client; always `None` for Zalo.
    pub messaging_type: Option<String>,
    /// When the fake accepted the message, in Unix milliseconds.
    pub at_ms: i64,
}

/// One request received by the Zalo OAuth refresh endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthCall {
    pub app_id: String,
    pub refresh_token: String,
    /// The `secret_key` header.
    pub secret_key: String,
    pub grant_type: String,
    /// Whether the fake rotated its token pair and returned it (false for every injected fault).
    pub succeeded: bool,
}

/// A fault injected into the next send request of one platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// HTTP 200 `{"error": code, "message": "…"}`, the Zalo error envelope.
    ZaloError(i64),
    /// A Graph error object, HTTP 400 (500 for codes 2 and 1200).
    MessengerError { code: i64, subcode: Option<i64> },
    /// A bare HTTP status (e.g. 502, 503) with a short text body.
    HttpStatus(u16),
    /// Sleep this long, then answer normally (to trigger client timeouts).
    Delay(Duration),
}

/// A page the fake serves to the Graph API's page endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePage {
    pub id: String,
    pub name: String,
    /// The page token that opens it; `None` for the Messenger page (its token is the
    /// Messenger one, see [`FakePlatform::set_messenger_page_token`]).
    pub token: Option<String>,
    pub followers: i64,
    pub posts: Vec<FakePagePost>,
}

/// A post of a [`FakePage`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FakePagePost {
    /// `{page-id}_{post-id}`.
    pub id: String,
    pub created_ms: i64,
    pub permalink: String,
    /// The post this one shares, for a share.
    pub parent_id: Option<String>,
    pub shares: i64,
    pub reactions: i64,
    pub comments: i64,
}

impl FakePagePost {
    /// A post of `page` numbered `n`, at `created_ms`, with its permalink under `slug`.
    pub fn new(page: &str, slug: &str, n: u64, created_ms: i64) -> Self {
        Self {
            id: format!("{page}_{n}"),
            created_ms,
            permalink: format!("https://www.facebook.com/{slug}/posts/{n}"),
            parent_id: None,
            shares: 0,
            reactions: 0,
            comments: 0,
        }
    }

    /// The same post as a share of `parent`.
    pub fn shared_from(mut self, parent: &str) -> Self {
        self.parent_id = Some(parent.to_string());
        self
    }

    pub fn engagement(mut self, shares: i64, reactions: i64, comments: i64) -> Self {
        (self.shares, self.reactions, self.comments) = (shares, reactions, comments);
        self
    }
}

/// A request a page endpoint received: its path after the version, and its query without the
/// token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    pub path: String,
    pub query: BTreeMap<String, String>,
}

/// A fault injected into the next Zalo OAuth refresh request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OAuthFault {
    /// HTTP 200 with the OAuth error envelope (`error`, `error_name`, `error_reason`, …).
    ErrorBody,
    /// HTTP 200 with an access token but no refresh token; the accepted pair is not rotated.
    MissingRefreshToken,
    /// A bare HTTP status with a short text body.
    HttpStatus(u16),
}

/// A running fake platform. Cheap to clone; the server stops on [`FakePlatform::shutdown`] or
/// when the last clone is dropped.
#[derive(Clone)]
pub struct FakePlatform {
    handle: Arc<Handle>,
}

/// Owned by the `FakePlatform` clones only (not by the server task), so its `Drop` runs when
/// the last clone goes away.
struct Handle {
    shared: Arc<Shared>,
    port: u16,
    shutdown: watch::Sender<bool>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

/// State shared between the handle and the request handlers.
struct Shared {
    state: Mutex<FakeState>,
    next_id: AtomicU64,
    /// Random per-instance prefix so ids differ between runs.
    id_seed: u64,
    /// Number of successful sends, for [`FakePlatform::wait_for_sent`].
    sent_count: watch::Sender<usize>,
    /// `http://127.0.0.1:PORT`, for the paging links.
    base: String,
}

#[derive(Debug)]
struct FakeState {
    zalo_access: String,
    zalo_refresh: String,
    zalo_access_expired: bool,
    zalo_generation: u64,
    messenger_token: String,
    sent: Vec<SentMessage>,
    send_attempts: usize,
    oauth_calls: Vec<OAuthCall>,
    send_faults: [VecDeque<Fault>; 2],
    oauth_faults: VecDeque<OAuthFault>,
    oauth_delay: Duration,
    send_delay: Duration,
    rate: [RateWindow; 2],
    /// Display names by platform and user id, for the profile look-ups.
    profiles: HashMap<(usize, String), String>,
    pages: Vec<FakePage>,
    /// Faults for the next page reads, each for one page (`None`: whichever is read next).
    page_faults: VecDeque<(Option<String>, Fault)>,
    page_requests: Vec<PageRequest>,
    /// How long every page read takes to answer (the Graph API's round trip).
    page_latency: Duration,
    zbs: ZbsState,
    utility_templates: Vec<UtilityTemplate>,
}

/// A fixed one-second window counting every send request of one platform.
#[derive(Debug, Default)]
struct RateWindow {
    max_per_second: Option<u32>,
    started: Option<Instant>,
    count: u32,
}

impl RateWindow {
    /// Counts one request; returns true when it exceeds the limit.
    fn hit(&mut self, now: Instant) -> bool {
        let Some(max) = self.max_per_second else {
            return false;
        };
        match self.started {
            Some(start) if now.duration_since(start) < Duration::from_secs(1) => self.count += 1,
            _ => (self.started, self.count) = (Some(now), 1),
        }
        self.count > max
    }
}

fn index(channel: FakeChannel) -> usize {
    match channel {
        FakeChannel::Zalo => 0,
        FakeChannel::Messenger => 1,
    }
}

impl FakePlatform {
    /// Binds `127.0.0.1:0` and serves in a spawned tokio task until [`FakePlatform::shutdown`]
    /// is called or the last clone is dropped.
    pub async fn start() -> std::io::Result<FakePlatform> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let port = listener.local_addr()?.port();
        let shared = Arc::new(Shared {
            state: Mutex::new(FakeState {
                zalo_access: "zalo-access-0".into(),
                zalo_refresh: "zalo-refresh-0".into(),
                zalo_access_expired: false,
                zalo_generation: 0,
                messenger_token: "page-token".into(),
                sent: Vec::new(),
                send_attempts: 0,
                oauth_calls: Vec::new(),
                send_faults: Default::default(),
                oauth_faults: VecDeque::new(),
                oauth_delay: Duration::ZERO,
                send_delay: Duration::ZERO,
                rate: Default::default(),
                profiles: HashMap::new(),
                pages: vec![FakePage {
                    id: MESSENGER_PAGE_ID.into(),
                    name: "Sở Giáo dục và Đào tạo".into(),
                    token: None,
                    followers: 0,
                    posts: Vec::new(),
                }],
                page_faults: VecDeque::new(),
                page_requests: Vec::new(),
                page_latency: Duration::ZERO,
                zbs: ZbsState::default(),
                utility_templates: Vec::new(),
            }),
            next_id: AtomicU64::new(1),
            id_seed: RandomState::new().hash_one(port),
            sent_count: watch::Sender::new(0),
            base: format!("http://127.0.0.1:{port}"),
        });
        let (shutdown, mut stop) = watch::channel(false);
        let router = Router::new()
            .route("/zalo/v3.0/oa/message/cs", post(zalo_send))
            .route("/zalo/v3.0/oa/message/template", post(zbs_send_by_user_id))
            .route("/zbs/message/template", post(zbs_send_by_phone))
            .route("/zbs/template/info/v2", get(zbs_template_info))
            .route("/zbs/message/quota", get(zbs_quota))
            .route("/zbs/message/status", get(zbs_status))
            .route("/zalo/v2.0/oa/conversation", get(zalo_conversation))
            .route("/zalo/v3.0/oa/user/detail", get(zalo_user_detail))
            .route("/zalo-oauth/v4/oa/access_token", post(zalo_refresh))
            .route("/graph/v25.0/{node}", get(messenger_profile))
            .route("/graph/v25.0/{node}/messages", post(messenger_send))
            .route(
                "/graph/v25.0/{node}/conversations",
                get(messenger_conversations),
            )
            .route("/graph/v25.0/{node}/posts", get(page_posts))
            .route(
                "/graph/v25.0/{node}/message_templates",
                get(utility_templates),
            )
            .with_state(shared.clone());
        tokio::spawn(async move {
            let stopped = async move {
                let _ = stop.wait_for(|stopped| *stopped).await;
            };
            if let Err(err) = axum::serve(listener, router)
                .with_graceful_shutdown(stopped)
                .await
            {
                tracing::warn!(error = %err, "fake platform server failed");
            }
        });
        Ok(FakePlatform {
            handle: Arc::new(Handle {
                shared,
                port,
                shutdown,
            }),
        })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn base_url(&self) -> String {
        format!("http://127.0.0.1:{}", self.handle.port)
    }

    /// Base of the Zalo OA Open API (stands in for `https://openapi.zalo.me`).
    pub fn zalo_api_base(&self) -> String {
        format!("{}/zalo", self.base_url())
    }

    /// Base of Zalo OAuth (stands in for `https://oauth.zaloapp.com`).
    pub fn zalo_oauth_base(&self) -> String {
        format!("{}/zalo-oauth", self.base_url())
    }

    /// Base of the ZBS business API (stands in for `https://business.openapi.zalo.me`).
    pub fn zbs_api_base(&self) -> String {
        format!("{}/zbs", self.base_url())
    }

    /// Base of the Graph API, version included (stands in for `https://graph.facebook.com/v25.0`).
    pub fn messenger_api_base(&self) -> String {
        format!("{}/graph/v25.0", self.base_url())
    }

    /// The Zalo `(access, refresh)` token pair the fake currently accepts.
    /// Initially `("zalo-access-0", "zalo-refresh-0")`.
    pub fn zalo_tokens(&self) -> (String, String) {
        let state = self.state();
        (state.zalo_access.clone(), state.zalo_refresh.clone())
    }

    /// Replaces the accepted Zalo token pair (the new access token is not expired).
    pub fn set_zalo_tokens(&self, access: &str, refresh: &str) {
        let mut state = self.state();
        state.zalo_access = access.to_owned();
        state.zalo_refresh = refresh.to_owned();
        state.zalo_access_expired = false;
    }

    /// Expires the current Zalo access token: requests with it answer error -216 until a
    /// successful refresh (or [`FakePlatform::set_zalo_tokens`]).
    pub fn expire_zalo_access_token(&self) {
        self.state().zalo_access_expired = true;
    }

    /// Sets the Page access token the fake accepts for Messenger (default `"page-token"`).
    pub fn set_messenger_page_token(&self, token: &str) {
        self.state().messenger_token = token.to_owned();
    }

    /// Successful sends of both platforms, in the order they were accepted.
    /// The display name the profile look-ups answer for a user.
    pub fn set_display_name(&self, channel: FakeChannel, user: &str, name: &str) {
        self.state()
            .profiles
            .insert((index(channel), user.to_string()), name.to_string());
    }

    pub fn sent(&self) -> Vec<SentMessage> {
        self.state().sent.clone()
    }

    /// Every send request received on both platforms, including failed ones.
    pub fn send_attempts(&self) -> usize {
        self.state().send_attempts
    }

    /// Every Zalo OAuth refresh request received, in order.
    pub fn oauth_calls(&self) -> Vec<OAuthCall> {
        self.state().oauth_calls.clone()
    }

    /// Queues a fault; each send request of `platform` pops the next queued fault first.
    /// A fault is rendered as given, whichever platform's queue it is in.
    pub fn inject_send_fault(&self, platform: FakeChannel, fault: Fault) {
        self.state().send_faults[index(platform)].push_back(fault);
    }

    /// Queues a fault for the next OAuth refresh request(s), one per request.
    pub fn inject_oauth_fault(&self, fault: OAuthFault) {
        self.state().oauth_faults.push_back(fault);
    }

    /// Latency added to every OAuth refresh before it is processed (default 0).
    pub fn set_oauth_delay(&self, delay: Duration) {
        self.state().oauth_delay = delay;
    }

    /// Latency added to every send before it is processed (default 0).
    pub fn set_send_delay(&self, delay: Duration) {
        self.state().send_delay = delay;
    }

    /// Limits the send requests of `channel` per fixed one-second window; requests beyond it
    /// answer Zalo `-32` or Graph code 613. Every request counts, rejected ones included.
    /// `None` (the default) removes the limit.
    pub fn set_rate_limit(&self, channel: FakeChannel, max_per_second: Option<u32>) {
        self.state().rate[index(channel)] = RateWindow {
            max_per_second,
            ..RateWindow::default()
        };
    }

    /// Adds a page (opened by its own token), or replaces the page with its id; the Messenger
    /// page is [`MESSENGER_PAGE_ID`], opened by the Messenger token.
    pub fn add_page(&self, page: FakePage) {
        let mut state = self.state();
        state.pages.retain(|p| p.id != page.id);
        state.pages.push(page);
    }

    /// Adds posts to the page with this id.
    pub fn add_page_posts(&self, page_id: &str, posts: impl IntoIterator<Item = FakePagePost>) {
        let mut state = self.state();
        if let Some(page) = state.pages.iter_mut().find(|p| p.id == page_id) {
            page.posts.extend(posts);
        }
    }

    pub fn set_followers(&self, page_id: &str, followers: i64) {
        let mut state = self.state();
        if let Some(page) = state.pages.iter_mut().find(|p| p.id == page_id) {
            page.followers = followers;
        }
    }

    /// Queues a fault for the next page read (the page's fields or a page of its posts).
    /// `MessengerError` answers with the page-read message of its code (10 names
    /// `pages_read_engagement`, 200 `read_insights`; 80001 carries the
    /// `X-Business-Use-Case-Usage` header with 5 minutes to wait).
    pub fn inject_page_fault(&self, fault: Fault) {
        self.state().page_faults.push_back((None, fault));
    }

    /// Queues a fault for the next read of the page with this id only (pages are read
    /// several at a time, so "the next read" of any page is not always the same page's).
    pub fn inject_page_fault_on(&self, page_id: &str, fault: Fault) {
        self.state()
            .page_faults
            .push_back((Some(page_id.to_string()), fault));
    }

    /// Makes every page read take `latency` to answer, as the real Graph API's round trip
    /// does (benchmarks of the daily read).
    pub fn set_page_latency(&self, latency: Duration) {
        self.state().page_latency = latency;
    }

    /// Every request of the page endpoints, in order.
    pub fn page_requests(&self) -> Vec<PageRequest> {
        self.state().page_requests.clone()
    }

    /// Waits until at least `n` messages were sent or `timeout` passes; returns [`Self::sent`].
    pub async fn wait_for_sent(&self, n: usize, timeout: Duration) -> Vec<SentMessage> {
        let mut count = self.handle.shared.sent_count.subscribe();
        let _ = tokio::time::timeout(timeout, count.wait_for(|sent| *sent >= n)).await;
        self.sent()
    }

    /// Stops the server gracefully. Idempotent.
    pub fn shutdown(&self) {
        self.handle.shutdown.send_replace(true);
    }

    fn state(&self) -> MutexGuard<'_, FakeState> {
        self.handle.shared.lock()
    }
}

impl fmt::Debug for FakePlatform {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FakePlatform")
            .field("base_url", &self.base_url())
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, FakeState> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn random(&self) -> u64 {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        (self.id_seed ^ n).wrapping_mul(0x9E37_79B9_7F4A_7C15)
    }

    /// A unique id: 20 hex digits, like Zalo's `63ecf43f0df7dba892e6`.
    fn unique_hex(&self) -> String {
        let n = self.next_id.fetch_add(1, Ordering::Relaxed);
        format!("{:08x}{:012x}", self.id_seed as u32, n)
    }

    /// Counts a send request and applies the send delay and the queued fault. Returns the
    /// response to give instead of processing the request, if any.
    async fn begin_send(&self, channel: FakeChannel) -> Option<Response> {
        let (delay, fault, limited) = {
            let mut state = self.lock();
            state.send_attempts += 1;
            let limited = state.rate[index(channel)].hit(Instant::now());
            let fault = state.send_faults[index(channel)].pop_front();
            (state.send_delay, fault, limited)
        };
        sleep(delay).await;
        match fault {
            Some(Fault::ZaloError(code)) => return Some(zalo_error(code)),
            Some(Fault::MessengerError { code, subcode }) => {
                return Some(self.graph_error(code, subcode, graph_message(code, subcode)));
            }
            Some(Fault::HttpStatus(status)) => return Some(bare_status(status)),
            Some(Fault::Delay(delay)) => sleep(delay).await,
            None => {}
        }
        limited.then(|| match channel {
            FakeChannel::Zalo => zalo_error(-32),
            FakeChannel::Messenger => self.graph_error(613, None, graph_message(613, None)),
        })
    }

    fn record_sent(&self, message: SentMessage) {
        let count = {
            let mut state = self.lock();
            state.sent.push(message);
            state.sent.len()
        };
        self.sent_count.send_replace(count);
    }

    /// Sent messages of `channel` to `recipient`, most recent first.
    fn history(&self, channel: FakeChannel, recipient: &str) -> Vec<SentMessage> {
        let state = self.lock();
        let sent = state.sent.iter().rev();
        sent.filter(|m| m.channel == channel && m.recipient == recipient)
            .cloned()
            .collect()
    }

    fn zalo_token_valid(&self, headers: &HeaderMap) -> bool {
        let state = self.lock();
        header_str(headers, "access_token")
            .is_some_and(|token| token == state.zalo_access && !state.zalo_access_expired)
    }

    /// Checks the Page token from the `access_token` query parameter or a Bearer header.
    fn messenger_auth(&self, query: &HashMap<String, String>, headers: &HeaderMap) -> bool {
        let bearer = header_str(headers, header::AUTHORIZATION.as_str())
            .and_then(|value| value.strip_prefix("Bearer "));
        let token = query.get("access_token").map(String::as_str).or(bearer);
        token.is_some_and(|token| token == self.lock().messenger_token)
    }

    /// A Graph error response with a fresh `fbtrace_id`.
    fn graph_error(&self, code: i64, subcode: Option<i64>, message: &str) -> Response {
        let status = match code {
            2 | 1200 => StatusCode::INTERNAL_SERVER_ERROR,
            _ => StatusCode::BAD_REQUEST,
        };
        let mut error = json!({
            "message": message,
            "type": "OAuthException",
            "code": code,
            "fbtrace_id": format!("A{:x}", self.random()),
        });
        if let Some(subcode) = subcode {
            error["error_subcode"] = json!(subcode);
        }
        (status, Json(json!({ "error": error }))).into_response()
    }

    fn graph_invalid_token(&self) -> Response {
        self.graph_error(190, None, graph_message(190, None))
    }
}

/// A bare HTTP status with its reason phrase as a text body (invalid codes become 500).
fn bare_status(status: u16) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let reason = status.canonical_reason().unwrap_or("Error");
    (status, format!("{} {reason}\n", status.as_u16())).into_response()
}

fn header_str<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers.get(name).and_then(|value| value.to_str().ok())
}

fn non_empty_str(value: &Value) -> Option<&str> {
    value.as_str().filter(|s| !s.is_empty())
}

async fn sleep(delay: Duration) {
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
}

fn now_ms() -> i64 {
    let since_epoch = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default();
    i64::try_from(since_epoch.as_millis()).unwrap_or(i64::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn json_answer(request: reqwest::RequestBuilder) -> Value {
        request.send().await.unwrap().json().await.unwrap()
    }

    async fn zalo_send_text(fake: &FakePlatform, token: &str, user: &str, text: &str) -> Value {
        let request = reqwest::Client::new()
            .post(format!("{}/v3.0/oa/message/cs", fake.zalo_api_base()))
            .header("access_token", token)
            .json(&json!({ "recipient": { "user_id": user }, "message": { "text": text } }));
        json_answer(request).await
    }

    async fn zalo_refresh_with(fake: &FakePlatform, refresh_token: &str) -> Value {
        let request = reqwest::Client::new()
            .post(format!("{}/v4/oa/access_token", fake.zalo_oauth_base()))
            .header("secret_key", "app-secret")
            .form(&[
                ("refresh_token", refresh_token),
                ("app_id", "app-1"),
                ("grant_type", "refresh_token"),
            ]);
        json_answer(request).await
    }

    async fn messenger_send_text(fake: &FakePlatform, psid: &str, text: &str) -> (u16, Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/me/messages", fake.messenger_api_base()))
            .bearer_auth("page-token")
            .json(&json!({
                "recipient": { "id": psid },
                "messaging_type": "UPDATE",
                "message": { "text": text },
            }))
            .send()
            .await
            .unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    }

    #[tokio::test]
    async fn zalo_send_succeeds_and_is_recorded() {
        let fake = FakePlatform::start().await.unwrap();
        let body = zalo_send_text(&fake, "zalo-access-0", "2512523625412515", "xin chào").await;
        assert_eq!(body["error"], 0);
        assert_eq!(body["message"], "Success");
        assert_eq!(body["data"]["user_id"], "2512523625412515");
        let message_id = body["data"]["message_id"].as_str().unwrap();
        assert_eq!(message_id.len(), 20);
        assert!(message_id.chars().all(|c| c.is_ascii_hexdigit()));

        let sent = fake.wait_for_sent(1, Duration::from_secs(1)).await;
        assert_eq!(sent.len(), 1);
        assert_eq!(sent[0].channel, FakeChannel::Zalo);
        assert_eq!(sent[0].recipient, "2512523625412515");
        assert_eq!(sent[0].text, "xin chào");
        assert_eq!(sent[0].message_id, message_id);
        assert_eq!(sent[0].messaging_type, None);

        // The limit counts characters, not bytes.
        let longest = "ạ".repeat(MAX_TEXT_CHARS);
        let body = zalo_send_text(&fake, "zalo-access-0", "u1", &longest).await;
        assert_eq!(body["error"], 0);
        let too_long = "ạ".repeat(MAX_TEXT_CHARS + 1);
        let body = zalo_send_text(&fake, "zalo-access-0", "u1", &too_long).await;
        assert_eq!(body["error"], -201);
        assert_eq!(body["message"], "Parameter 'message' is invalid");
        assert_eq!(fake.sent().len(), 2);
        assert_eq!(fake.send_attempts(), 3);
    }

    #[tokio::test]
    async fn expired_token_then_refresh_rotates_the_pair() {
        let fake = FakePlatform::start().await.unwrap();
        fake.expire_zalo_access_token();
        let body = zalo_send_text(&fake, "zalo-access-0", "u1", "hi").await;
        assert_eq!(body["error"], -216);
        assert_eq!(body["message"], "Access token is invalid");

        let body = zalo_refresh_with(&fake, "zalo-refresh-0").await;
        assert_eq!(body["access_token"], "zalo-access-1");
        assert_eq!(body["refresh_token"], "zalo-refresh-1");
        assert_eq!(body["expires_in"], "90000");
        assert_eq!(
            fake.zalo_tokens(),
            ("zalo-access-1".into(), "zalo-refresh-1".into())
        );
        assert_eq!(
            zalo_send_text(&fake, "zalo-access-1", "u1", "hi").await["error"],
            0
        );

        // The used refresh token is single-use.
        let body = zalo_refresh_with(&fake, "zalo-refresh-0").await;
        assert_eq!(body["error"], -14014);
        assert!(body.get("access_token").is_none());
        assert_eq!(fake.zalo_tokens().1, "zalo-refresh-1");

        // An answer without refresh token must not rotate the accepted pair.
        fake.inject_oauth_fault(OAuthFault::MissingRefreshToken);
        let body = zalo_refresh_with(&fake, "zalo-refresh-1").await;
        assert!(body["access_token"].is_string());
        assert!(body.get("refresh_token").is_none());
        assert_eq!(fake.zalo_tokens().1, "zalo-refresh-1");

        let calls = fake.oauth_calls();
        let succeeded: Vec<bool> = calls.iter().map(|c| c.succeeded).collect();
        assert_eq!(succeeded, [true, false, false]);
        assert_eq!(calls[0].app_id, "app-1");
        assert_eq!(calls[0].secret_key, "app-secret");
        assert_eq!(calls[0].grant_type, "refresh_token");
        assert_eq!(calls[1].refresh_token, "zalo-refresh-0");
    }

    #[tokio::test]
    async fn messenger_injected_fault_and_token_check() {
        let fake = FakePlatform::start().await.unwrap();
        let fault = Fault::MessengerError {
            code: 10,
            subcode: Some(2018278),
        };
        fake.inject_send_fault(FakeChannel::Messenger, fault);
        let (status, body) = messenger_send_text(&fake, "psid-1", "hello").await;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["code"], 10);
        assert_eq!(body["error"]["error_subcode"], 2018278);
        assert_eq!(body["error"]["type"], "OAuthException");
        assert_eq!(
            body["error"]["message"],
            "(#10) This message is sent outside of allowed window."
        );
        assert!(
            body["error"]["fbtrace_id"]
                .as_str()
                .unwrap()
                .starts_with('A')
        );

        let (status, body) = messenger_send_text(&fake, "psid-1", "hello").await;
        assert_eq!(status, 200);
        assert_eq!(body["recipient_id"], "psid-1");
        assert!(body["message_id"].as_str().unwrap().starts_with("m_"));
        assert_eq!(fake.sent()[0].messaging_type.as_deref(), Some("UPDATE"));

        fake.set_messenger_page_token("rotated");
        let (status, body) = messenger_send_text(&fake, "psid-1", "hello").await;
        assert_eq!(status, 400);
        assert_eq!(body["error"]["code"], 190);
        assert!(body["error"].get("error_subcode").is_none());
        assert_eq!(fake.send_attempts(), 3);
        assert_eq!(fake.sent().len(), 1);
    }

    #[tokio::test]
    async fn conversation_lookups_return_sent_messages_newest_first() {
        let fake = FakePlatform::start().await.unwrap();
        zalo_send_text(&fake, "zalo-access-0", "u1", "first").await;
        zalo_send_text(&fake, "zalo-access-0", "u2", "other user").await;
        zalo_send_text(&fake, "zalo-access-0", "u1", "second").await;
        let data = json!({ "user_id": "u1", "offset": 0, "count": 10 }).to_string();
        let body = json_answer(
            reqwest::Client::new()
                .get(format!("{}/v2.0/oa/conversation", fake.zalo_api_base()))
                .header("access_token", "zalo-access-0")
                .query(&[("data", data)]),
        )
        .await;
        assert_eq!(body["error"], 0);
        let texts: Vec<&str> = body["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["message"].as_str().unwrap())
            .collect();
        assert_eq!(texts, ["second", "first"]);
        assert_eq!(body["data"][0]["src"], 0);
        assert_eq!(body["data"][0]["to_id"], "u1");
        assert_eq!(body["data"][0]["message_id"], fake.sent()[2].message_id);
        assert!(body["data"][0]["time"].is_i64());

        messenger_send_text(&fake, "psid-9", "hello").await;
        let lookup = |psid: &'static str| {
            reqwest::Client::new()
                .get(format!("{}/me/conversations", fake.messenger_api_base()))
                .query(&[
                    ("user_id", psid),
                    ("platform", "messenger"),
                    ("fields", "messages{message,created_time,from,to}"),
                    ("access_token", "page-token"),
                ])
                .send()
        };
        let body: Value = lookup("psid-9").await.unwrap().json().await.unwrap();
        assert_eq!(body["data"][0]["id"], "t_psid-9");
        let message = &body["data"][0]["messages"]["data"][0];
        assert_eq!(message["id"], fake.sent()[3].message_id);
        assert_eq!(message["message"], "hello");
        assert_eq!(message["from"]["id"], MESSENGER_PAGE_ID);
        assert_eq!(message["to"]["data"][0]["id"], "psid-9");
        let body: Value = lookup("nobody").await.unwrap().json().await.unwrap();
        assert_eq!(body, json!({ "data": [] }));
    }

    #[tokio::test]
    async fn rate_limit_answers_platform_errors() {
        let fake = FakePlatform::start().await.unwrap();
        fake.set_rate_limit(FakeChannel::Zalo, Some(1));
        fake.set_rate_limit(FakeChannel::Messenger, Some(1));
        assert_eq!(
            zalo_send_text(&fake, "zalo-access-0", "u1", "a").await["error"],
            0
        );
        assert_eq!(
            zalo_send_text(&fake, "zalo-access-0", "u1", "b").await["error"],
            -32
        );
        assert_eq!(messenger_send_text(&fake, "p", "a").await.0, 200);
        let (status, body) = messenger_send_text(&fake, "p", "b").await;
        assert_eq!((status, body["error"]["code"].as_i64()), (400, Some(613)));
        fake.inject_send_fault(FakeChannel::Zalo, Fault::HttpStatus(503));
        fake.set_rate_limit(FakeChannel::Zalo, None);
        let response = reqwest::Client::new()
            .post(format!("{}/v3.0/oa/message/cs", fake.zalo_api_base()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 503);
    }

    #[tokio::test]
    async fn overlapping_refreshes_consume_the_token_once_and_shutdown_stops() {
        let fake = FakePlatform::start().await.unwrap();
        fake.set_oauth_delay(Duration::from_millis(100));
        let (a, b) = tokio::join!(
            zalo_refresh_with(&fake, "zalo-refresh-0"),
            zalo_refresh_with(&fake, "zalo-refresh-0")
        );
        let rotated = [&a, &b]
            .iter()
            .filter(|b| b["access_token"].is_string())
            .count();
        assert_eq!(rotated, 1);
        assert_eq!(fake.oauth_calls().len(), 2);

        let url = fake.base_url();
        fake.shutdown();
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert!(reqwest::get(url).await.is_err());
    }

    #[test]
    fn graph_time_uses_graph_format() {
        assert_eq!(graph_time(0), "1970-01-01T00:00:00+0000");
    }
}
