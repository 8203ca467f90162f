//! A real SMTP server on loopback for the tests and `lantoa demo`.
//!
//! [`SmtpSink::start`] binds `127.0.0.1` on a random port and speaks as much of RFC 5321 as a
//! mail client needs (lettre's `AsyncSmtpTransport` built from `smtp://…` among them): the
//! greeting, `EHLO`/`HELO`, `AUTH PLAIN` and `AUTH LOGIN` (RFC 4954), `MAIL FROM`, `RCPT TO`,
//! `DATA` with dot-stuffing, `RSET`, `NOOP` and `QUIT`. There is no TLS: the sink is only ever
//! on loopback.
//!
//! Every message it accepts is kept as a [`Received`]. It can also refuse on cue, so a test can
//! show each class of failure a real relay gives:
//!
//! | Call | What the client sees |
//! |---|---|
//! | [`SmtpSink::refuse_next`] | one scripted reply at one [`Phase`] (e.g. `421` on greeting, `451` after the data) |
//! | [`SmtpSink::refuse_always`] | this reply to every `RCPT TO` of one address (`550 5.1.1`) |
//! | [`SmtpSink::require_login`] | `535 5.7.8` for other credentials, `530 5.7.0` for `MAIL` without `AUTH` |
//! | [`SmtpSink::delay_end_of_data`] | the answer to the final dot comes late (the message went out, the client timed out) |

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

mod message;
mod session;

pub use message::Received;

/// A point of the SMTP conversation where [`SmtpSink::refuse_next`] can answer instead of the
/// sink.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// The `220` greeting when a client connects. A scripted reply other than `2xx` closes the
    /// connection right after it, as a relay that is shutting down does.
    Greeting,
    /// The answer to `AUTH` once the credentials are in.
    Auth,
    /// The answer to `MAIL FROM`.
    MailFrom,
    /// The answer to one `RCPT TO`.
    RcptTo,
    /// The answer to the `DATA` command itself (instead of `354`).
    Data,
    /// The answer after the message's final dot (instead of `250`): the message was sent but
    /// not accepted.
    EndOfData,
}

/// A running sink. Cheap to clone; the server stops on [`SmtpSink::shutdown`] or when the last
/// clone is dropped, and with it every open connection.
#[derive(Clone)]
pub struct SmtpSink {
    handle: Arc<Handle>,
}

/// Owned by the `SmtpSink` clones only (not by the server task), so its `Drop` runs when the
/// last clone goes away.
struct Handle {
    shared: Arc<Shared>,
    address: SocketAddr,
    shutdown: watch::Sender<bool>,
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.shutdown.send_replace(true);
    }
}

/// State shared between the handle and the connections.
pub(crate) struct Shared {
    state: Mutex<State>,
    /// The number of accepted messages, for [`SmtpSink::wait_for`].
    received: watch::Sender<usize>,
    connections: AtomicUsize,
}

#[derive(Debug, Default)]
struct State {
    messages: Vec<Received>,
    scripted: HashMap<Phase, VecDeque<String>>,
    /// Replies to `RCPT TO` by lower-cased address.
    refused: HashMap<String, String>,
    /// The only `(user, password)` accepted, and `MAIL` without `AUTH` refused.
    login: Option<(String, String)>,
    end_of_data_delay: Duration,
}

impl SmtpSink {
    /// Binds `127.0.0.1:0` and serves each connection in its own task until
    /// [`SmtpSink::shutdown`] is called or the last clone is dropped.
    pub async fn start() -> std::io::Result<SmtpSink> {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        let address = listener.local_addr()?;
        let shared = Arc::new(Shared {
            state: Mutex::new(State::default()),
            received: watch::Sender::new(0),
            connections: AtomicUsize::new(0),
        });
        let (shutdown, stop) = watch::channel(false);
        tokio::spawn(accept_loop(listener, shared.clone(), stop));
        Ok(SmtpSink {
            handle: Arc::new(Handle {
                shared,
                address,
                shutdown,
            }),
        })
    }

    /// The address the sink listens on (`127.0.0.1` and its port).
    pub fn address(&self) -> SocketAddr {
        self.handle.address
    }

    /// `smtp://127.0.0.1:PORT`: plain SMTP, no login.
    pub fn url(&self) -> String {
        format!("smtp://{}", self.handle.address)
    }

    /// `smtp://user:pass@127.0.0.1:PORT`, the user and the password percent-encoded.
    pub fn url_with_login(&self, user: &str, pass: &str) -> String {
        format!(
            "smtp://{}:{}@{}",
            percent_encode(user),
            percent_encode(pass),
            self.handle.address
        )
    }

    /// Every message accepted so far, in order.
    pub fn messages(&self) -> Vec<Received> {
        self.state().messages.clone()
    }

    /// Waits until at least `n` messages were accepted or `timeout` passes; returns
    /// [`SmtpSink::messages`] either way, so the caller asserts on what arrived.
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Received> {
        let mut count = self.handle.shared.received.subscribe();
        let _ = tokio::time::timeout(timeout, count.wait_for(|received| *received >= n)).await;
        self.messages()
    }

    /// How many connections the sink accepted.
    pub fn connections(&self) -> usize {
        self.handle.shared.connections.load(Ordering::Relaxed)
    }

    /// Queues a one-shot reply for `phase`, given whole (e.g. `"421 4.3.2 Service not
    /// available"`): the next time the conversation reaches that phase, on any connection, the
    /// sink answers this instead. A reply starting with `421` also closes the connection.
    ///
    /// Panics when `reply` does not start with a three-digit code: that is a mistake in the
    /// test, not something to send to a client.
    pub fn refuse_next(&self, phase: Phase, reply: &str) {
        assert!(
            session::is_reply(reply),
            "refuse_next needs a whole SMTP reply starting with its 3-digit code, like \
             \"421 4.3.2 Service not available\"; got {reply:?}"
        );
        let mut state = self.state();
        let queue = state.scripted.entry(phase).or_default();
        queue.push_back(reply.to_string());
    }

    /// Answers `reply` to every `RCPT TO` of `address` (compared without case), e.g.
    /// `"550 5.1.1 The email account that you tried to reach does not exist"`.
    ///
    /// Panics when `reply` does not start with a three-digit code, as
    /// [`SmtpSink::refuse_next`] does.
    pub fn refuse_always(&self, address: &str, reply: &str) {
        assert!(
            session::is_reply(reply),
            "refuse_always needs a whole SMTP reply starting with its 3-digit code, like \
             \"550 5.1.1 The email account that you tried to reach does not exist\"; got \
             {reply:?}"
        );
        self.state()
            .refused
            .insert(address.to_lowercase(), reply.to_string());
    }

    /// Accepts only these credentials: other ones get `535 5.7.8 Username and Password not
    /// accepted`, and `MAIL FROM` before a successful `AUTH` gets `530 5.7.0 Authentication
    /// Required`. Without it any credentials are accepted (and `AUTH` is optional).
    pub fn require_login(&self, user: &str, pass: &str) {
        self.state().login = Some((user.to_string(), pass.to_string()));
    }

    /// Waits this long before answering the final dot of every message (default 0), so a
    /// client times out after the message went out.
    pub fn delay_end_of_data(&self, delay: Duration) {
        self.state().end_of_data_delay = delay;
    }

    /// Stops accepting connections and closes the open ones. Idempotent.
    pub fn shutdown(&self) {
        self.handle.shutdown.send_replace(true);
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.handle.shared.lock()
    }
}

impl fmt::Debug for SmtpSink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpSink")
            .field("address", &self.handle.address)
            .finish_non_exhaustive()
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Pops the next scripted reply for `phase`, if any.
    pub(crate) fn scripted(&self, phase: Phase) -> Option<String> {
        self.lock().scripted.get_mut(&phase)?.pop_front()
    }

    /// The reply `RCPT TO` of `address` always gets, if any.
    pub(crate) fn refusal_for(&self, address: &str) -> Option<String> {
        self.lock().refused.get(&address.to_lowercase()).cloned()
    }

    /// Whether `MAIL FROM` needs a successful `AUTH` first.
    pub(crate) fn login_required(&self) -> bool {
        self.lock().login.is_some()
    }

    /// Whether these credentials log in.
    pub(crate) fn accepts(&self, user: &str, pass: &str) -> bool {
        match &self.lock().login {
            Some((expected_user, expected_pass)) => user == expected_user && pass == expected_pass,
            None => true,
        }
    }

    pub(crate) fn end_of_data_delay(&self) -> Duration {
        self.lock().end_of_data_delay
    }

    /// Keeps an accepted message; returns its number (from 1).
    pub(crate) fn record(&self, message: Received) -> usize {
        let count = {
            let mut state = self.lock();
            state.messages.push(message);
            state.messages.len()
        };
        self.received.send_replace(count);
        count
    }
}

/// Accepts connections until `stop` turns true; then drops the open connections' tasks, which
/// closes them.
async fn accept_loop(listener: TcpListener, shared: Arc<Shared>, mut stop: watch::Receiver<bool>) {
    let mut connections = JoinSet::new();
    loop {
        let stopped = async {
            let _ = stop.wait_for(|stopped| *stopped).await;
        };
        tokio::select! {
            () = stopped => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    shared.connections.fetch_add(1, Ordering::Relaxed);
                    connections.spawn(session::serve(shared.clone(), stream));
                }
                // Out of file descriptors and the like: wait a little rather than spin.
                Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
            },
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters, for a URL's user info.
fn percent_encode(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~".contains(&byte) {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_info_is_percent_encoded() {
        assert_eq!(percent_encode("mail@so.edu.vn"), "mail%40so.edu.vn");
        assert_eq!(percent_encode("p:ss/wörd"), "p%3Ass%2Fw%C3%B6rd");
        assert_eq!(percent_encode("plain-._~"), "plain-._~");
    }

    #[tokio::test]
    async fn urls_name_the_bound_port() {
        let sink = SmtpSink::start().await.unwrap();
        let port = sink.address().port();
        assert_ne!(port, 0);
        assert_eq!(sink.url(), format!("smtp://127.0.0.1:{port}"));
        assert_eq!(
            sink.url_with_login("a@b", "c d"),
            format!("smtp://a%40b:c%20d@127.0.0.1:{port}")
        );
    }

    #[test]
    #[should_panic(expected = "3-digit code")]
    fn a_scripted_reply_needs_its_code() {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let sink = runtime.block_on(SmtpSink::start()).unwrap();
        sink.refuse_next(Phase::Greeting, "Service not available");
    }
}
