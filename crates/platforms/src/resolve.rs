//! Follows a short link's redirects until its target is a post we can name.
//!
//! At most 5 hops within 5 seconds, only http and https, never to private, loopback or
//! link-local addresses (a teacher's link must not make the server probe its own network).
//! HEAD first, GET when a server does not answer HEAD. The target itself is not fetched once
//! its URL canonicalizes to a post: `facebook.com/…/posts/…` says all we need.

use std::collections::HashMap;
use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::LOCATION;
use url::Url;

use lantoa_core::links::canonicalize;
use lantoa_domain::links::Canonical;

pub const MAX_HOPS: usize = 5;
pub const TIME_LIMIT: Duration = Duration::from_secs(5);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    #[error("more than {MAX_HOPS} redirects")]
    TooManyHops,
    #[error("took longer than {} s", TIME_LIMIT.as_secs())]
    TimedOut,
    #[error("redirects to a private or local address ({0})")]
    PrivateAddress(String),
    #[error("redirects to a non-web address ({0})")]
    BadTarget(String),
    #[error("the link leads nowhere countable ({0})")]
    NotAPost(String),
    #[error("request failed: {0}")]
    Request(String),
}

/// What checking a unit website's article found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageCheck {
    Exists,
    /// 404 or 410: there is no such article.
    Missing(u16),
    /// No answer within the time limit: counted, and flagged in the evidence.
    TimedOut,
    /// Refused, unreachable or an error status: counted, and flagged in the evidence.
    Unreachable(String),
}

impl PageCheck {
    /// The `submissions.page_check` value.
    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Exists => "ok",
            Self::Missing(_) => "missing",
            Self::TimedOut => "timeout",
            Self::Unreachable(_) => "unreachable",
        }
    }
}

#[derive(Debug, Clone)]
pub struct Resolver {
    http: reqwest::Client,
    /// Host → base URL to ask instead (tests and the demo point short-link hosts at a local
    /// server); such bases are trusted even on loopback.
    overrides: HashMap<String, String>,
}

impl Default for Resolver {
    fn default() -> Self {
        Self::new()
    }
}

impl Resolver {
    pub fn new() -> Self {
        Self::with_guard(PublicOnly::system())
    }

    /// A resolver whose host names are looked up by `guard` (tests give it their own DNS).
    pub fn with_guard(guard: PublicOnly) -> Self {
        Self {
            http: reqwest::Client::builder()
                .dns_resolver(Arc::new(guard))
                // Through a proxy the proxy resolves the name and the guard is never asked.
                .no_proxy()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(TIME_LIMIT)
                .user_agent(concat!(
                    "lantoa/",
                    env!("CARGO_PKG_VERSION"),
                    " (link check)"
                ))
                .build()
                .expect("the TLS backend initialises"),
            overrides: HashMap::new(),
        }
    }

    pub fn with_override(mut self, host: &str, base: &str) -> Self {
        self.overrides.insert(
            host.to_ascii_lowercase(),
            base.trim_end_matches('/').to_string(),
        );
        self
    }

    /// The canonical form of where `url` leads.
    pub async fn resolve(&self, url: &str) -> Result<Canonical, ResolveError> {
        tokio::time::timeout(TIME_LIMIT, self.follow(url))
            .await
            .map_err(|_| ResolveError::TimedOut)?
    }

    /// Whether the article at `url` (a unit's own website) exists: HEAD, then GET where HEAD
    /// is refused, following up to [`MAX_HOPS`] redirects through the address guard, within
    /// [`TIME_LIMIT`].
    pub async fn check_page(&self, url: &str) -> PageCheck {
        match tokio::time::timeout(TIME_LIMIT, self.fetch_status(url)).await {
            Err(_) => PageCheck::TimedOut,
            Ok(Ok(status)) if matches!(status, 404 | 410) => PageCheck::Missing(status),
            Ok(Ok(status)) if status < 400 => PageCheck::Exists,
            Ok(Ok(status)) => PageCheck::Unreachable(format!("the site answered {status}")),
            Ok(Err(ResolveError::TimedOut)) => PageCheck::TimedOut,
            Ok(Err(err)) => PageCheck::Unreachable(err.to_string()),
        }
    }

    async fn fetch_status(&self, start: &str) -> Result<u16, ResolveError> {
        let mut current = absolute(start)?;
        for _ in 0..=MAX_HOPS {
            let request_url = self.request_url(&current)?;
            let mut response = self
                .http
                .head(request_url.clone())
                .send()
                .await
                .map_err(request_error)?;
            // Servers that refuse HEAD (405, 501) or answer it wrongly (400, 403, and some a
            // 404 or 410 for a page GET serves) are asked with GET before anything is
            // concluded; only the status is read.
            if matches!(
                response.status().as_u16(),
                400 | 403 | 404 | 405 | 410 | 501
            ) {
                response = self
                    .http
                    .get(request_url)
                    .send()
                    .await
                    .map_err(request_error)?;
            }
            if !response.status().is_redirection() {
                return Ok(response.status().as_u16());
            }
            let Some(location) = location(&response) else {
                return Ok(response.status().as_u16());
            };
            current = next_hop(&current, location)?;
        }
        Err(ResolveError::TooManyHops)
    }

    async fn follow(&self, start: &str) -> Result<Canonical, ResolveError> {
        let mut current = absolute(start)?;
        for _ in 0..=MAX_HOPS {
            let canonical = canonicalize(current.as_str())
                .map_err(|e| ResolveError::BadTarget(e.to_string()))?;
            if !canonical.needs_resolution {
                return if canonical.kind.is_countable() {
                    Ok(canonical)
                } else {
                    Err(ResolveError::NotAPost(canonical.key))
                };
            }
            let request_url = self.request_url(&current)?;
            let response = match self.http.head(request_url.clone()).send().await {
                Ok(response)
                    if response.status().is_redirection() || response.status().is_success() =>
                {
                    response
                }
                Err(err) if refused_by_guard(&err).is_some() => {
                    return Err(request_error(err));
                }
                _ => self
                    .http
                    .get(request_url)
                    .send()
                    .await
                    .map_err(request_error)?,
            };
            if !response.status().is_redirection() {
                return Err(ResolveError::NotAPost(format!(
                    "{} answered {} without redirecting",
                    current,
                    response.status()
                )));
            }
            let location = location(&response)
                .ok_or_else(|| ResolveError::Request("redirect without a Location".into()))?;
            current = next_hop(&current, location)?;
        }
        Err(ResolveError::TooManyHops)
    }

    /// Where to send the request: an override base, or the URL itself. A host given as an
    /// address is checked here; a name is checked by [`PublicOnly`] as the connection is made.
    fn request_url(&self, url: &Url) -> Result<Url, ResolveError> {
        let host = url.host_str().unwrap_or_default().to_ascii_lowercase();
        // An override for `facebook.com` also covers `www.`, `m.`, … of it.
        let suffixes = host
            .char_indices()
            .filter(|(_, c)| *c == '.')
            .map(|(i, _)| &host[i + 1..]);
        for candidate in std::iter::once(host.as_str()).chain(suffixes) {
            if let Some(base) = self.overrides.get(candidate) {
                let mut target = format!("{base}{}", url.path());
                if let Some(query) = url.query() {
                    target.push('?');
                    target.push_str(query);
                }
                return Url::parse(&target).map_err(|_| ResolveError::BadTarget(target));
            }
        }
        let literal = match url.host() {
            Some(url::Host::Ipv4(v4)) => Some(IpAddr::V4(v4)),
            Some(url::Host::Ipv6(v6)) => Some(IpAddr::V6(v6)),
            _ => None,
        };
        if let Some(ip) = literal
            && !is_public(ip)
        {
            return Err(ResolveError::PrivateAddress(host));
        }
        Ok(url.clone())
    }
}

/// What a failed request means: the guard refused the host, it took too long, or it failed.
fn request_error(err: reqwest::Error) -> ResolveError {
    match refused_by_guard(&err) {
        Some(host) => ResolveError::PrivateAddress(host),
        None if err.is_timeout() => ResolveError::TimedOut,
        None => ResolveError::Request(err.to_string()),
    }
}

fn location(response: &reqwest::Response) -> Option<&str> {
    response
        .headers()
        .get(LOCATION)
        .and_then(|value| value.to_str().ok())
}

/// Where a redirect leads, read against the page that sent it; only to web addresses.
fn next_hop(current: &Url, location: &str) -> Result<Url, ResolveError> {
    let next = current
        .join(location)
        .map_err(|_| ResolveError::BadTarget(location.to_string()))?;
    if !matches!(next.scheme(), "http" | "https") {
        return Err(ResolveError::BadTarget(next.to_string()));
    }
    Ok(next)
}

fn absolute(url: &str) -> Result<Url, ResolveError> {
    let text = if url.contains("://") {
        url.to_string()
    } else {
        format!("https://{url}")
    };
    Url::parse(&text).map_err(|_| ResolveError::BadTarget(url.to_string()))
}

/// Whether an address is an ordinary public one: not private, loopback, link-local,
/// multicast, documentation, benchmarking, reserved, or a translation or tunnel range whose
/// real destination could be anything (IANA's IPv4 and IPv6 special-purpose registries).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let [a, b, c, _] = v4.octets();
            !(a == 0                                   // 0.0.0.0/8 "this network"
                || a == 10                             // private
                || a == 100 && (64..128).contains(&b)  // 100.64.0.0/10 shared (CGNAT)
                || a == 127                            // loopback
                || a == 169 && b == 254                // link-local
                || a == 172 && (16..32).contains(&b)   // private
                || a == 192 && b == 0 && c == 0        // 192.0.0.0/24 IETF assignments
                || a == 192 && b == 0 && c == 2        // TEST-NET-1
                || a == 192 && b == 88 && c == 99      // 6to4 relay anycast
                || a == 192 && b == 168                // private
                || a == 198 && (b == 18 || b == 19)    // 198.18.0.0/15 benchmarking
                || a == 198 && b == 51 && c == 100     // TEST-NET-2
                || a == 203 && b == 0 && c == 113      // TEST-NET-3
                || a >= 224) // multicast 224/4, reserved 240/4, broadcast
        }
        IpAddr::V6(v6) => {
            // `::ffff:127.0.0.1` is 127.0.0.1.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let segments = v6.segments();
            let global_unicast = (segments[0] & 0xe000) == 0x2000; // 2000::/3
            global_unicast
                && !(segments[0] == 0x2001 && segments[1] < 0x0200) // 2001::/23 (Teredo, ORCHID, …)
                && !(segments[0] == 0x2001 && segments[1] == 0x0db8) // documentation
                && segments[0] != 0x2002 // 6to4
                && (segments[0] & 0xfff0) != 0x3ff0 // 3fff::/20 documentation
        }
    }
}

/// What the resolver's connections may reach: every address a name resolves to must be
/// public, or the name is refused. reqwest connects only to the addresses this returns, so
/// a DNS answer that changes between a check and the connection cannot slip through.
#[derive(Clone)]
pub struct PublicOnly {
    lookup: Lookup,
}

/// How a name becomes addresses (the system resolver, or a test's).
pub type Lookup = Arc<
    dyn Fn(String) -> Pin<Box<dyn Future<Output = std::io::Result<Vec<IpAddr>>> + Send>>
        + Send
        + Sync,
>;

#[derive(Debug, thiserror::Error)]
#[error("{0} resolves to a private or special-purpose address")]
struct NotPublic(String);

impl PublicOnly {
    pub fn system() -> Self {
        Self::with_lookup(Arc::new(|host: String| {
            Box::pin(async move {
                Ok(tokio::net::lookup_host((host.as_str(), 0))
                    .await?
                    .map(|address| address.ip())
                    .collect())
            })
        }))
    }

    pub fn with_lookup(lookup: Lookup) -> Self {
        Self { lookup }
    }
}

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_string();
        let lookup = self.lookup.clone();
        Box::pin(async move {
            let addresses = lookup(host.clone()).await?;
            if addresses.is_empty() || !addresses.iter().all(|ip| is_public(*ip)) {
                return Err(Box::new(NotPublic(host)) as Box<dyn std::error::Error + Send + Sync>);
            }
            // Port 0: the connector puts the URL's port in.
            let addrs: Addrs = Box::new(addresses.into_iter().map(|ip| SocketAddr::new(ip, 0)));
            Ok(addrs)
        })
    }
}

/// Whether a request failed because the guard refused its host's addresses.
fn refused_by_guard(err: &reqwest::Error) -> Option<String> {
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        if let Some(NotPublic(host)) = cause.downcast_ref::<NotPublic>() {
            return Some(host.clone());
        }
        source = cause.source();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn special_purpose_addresses_are_not_public() {
        for ip in [
            "0.1.2.3",
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "172.31.255.255",
            "169.254.1.1",
            "100.64.0.1",
            "192.0.0.8",
            "192.0.2.1",
            "192.88.99.1",
            "198.18.0.1",
            "198.19.255.1",
            "198.51.100.7",
            "203.0.113.9",
            "224.0.0.1",
            "239.255.255.250",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a00:1",
            "64:ff9b:1::1",
            "100::1",
            "2001::1",
            "2001:db8::1",
            "2002:a00:1::1",
            "3fff::1",
            "fd00::1",
            "fe80::1",
            "fec0::1",
            "ff02::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "1.1.1.1",
            "8.8.8.8",
            "172.32.0.1",
            "2606:4700::1111",
            "2a03:2880::1",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn a_literal_private_address_is_refused_before_any_request() {
        let resolver = Resolver::new();
        for url in [
            "http://127.0.0.1/abc",
            "http://[::1]/x",
            "http://198.18.0.1/x",
        ] {
            assert!(
                matches!(
                    resolver.request_url(&Url::parse(url).unwrap()),
                    Err(ResolveError::PrivateAddress(_))
                ),
                "{url}"
            );
        }
    }

    /// A name that answers a public address the first time and loopback afterwards (DNS
    /// rebinding). A check followed by the client's own look-up would connect to loopback; here
    /// each connection uses the guard's own answer, so loopback is never reached.
    #[tokio::test]
    async fn a_name_rebinding_to_loopback_never_gets_a_connection() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let hits = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = hits.clone();
        tokio::spawn(async move {
            while let Ok((_socket, _)) = listener.accept().await {
                counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            }
        });
        let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let seen = calls.clone();
        let lookup: Lookup = Arc::new(move |_host: String| {
            let first = seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst) == 0;
            Box::pin(async move {
                let answer = if first { "203.0.114.7" } else { "127.0.0.1" };
                Ok(vec![answer.parse().unwrap()])
            })
        });
        let resolver = Resolver::with_guard(PublicOnly::with_lookup(lookup));
        let _ = resolver
            .resolve(&format!("http://bit.ly:{port}/short"))
            .await;
        assert_eq!(
            hits.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "no connection to loopback"
        );
        // Every connection asks the guard (HEAD, then GET): the loopback answer is refused.
        assert!(calls.load(std::sync::atomic::Ordering::SeqCst) >= 1);
    }

    #[tokio::test]
    async fn a_name_with_one_private_address_among_public_ones_is_refused() {
        let lookup: Lookup = Arc::new(|_host: String| {
            Box::pin(async {
                Ok(vec![
                    "93.184.216.34".parse().unwrap(),
                    "10.0.0.5".parse().unwrap(),
                ])
            })
        });
        let resolver = Resolver::with_guard(PublicOnly::with_lookup(lookup));
        let result = resolver.resolve("https://bit.ly/abc").await;
        assert!(
            matches!(result, Err(ResolveError::PrivateAddress(_))),
            "{result:?}"
        );
    }
}
