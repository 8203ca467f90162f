//! Follows a short link's redirects until its target is a post we can name.
//!
//! At most 5 hops within 5 seconds, only http and https, never to private, loopback or
//! link-local addresses (a teacher's link must not make the server probe its own network).
//! HEAD first, GET when a server does not answer HEAD. The target itself is not fetched once
//! its URL canonicalizes to a post: `facebook.com/…/posts/…` says all we need.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::LOCATION;
use url::Url;

use super::{Canonical, canonicalize};

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
        Self {
            http: reqwest::Client::builder()
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
            let request_url = self.request_url(&current).await?;
            let response = match self.http.head(request_url.clone()).send().await {
                Ok(response)
                    if response.status().is_redirection() || response.status().is_success() =>
                {
                    response
                }
                _ => self
                    .http
                    .get(request_url)
                    .send()
                    .await
                    .map_err(|e| ResolveError::Request(e.to_string()))?,
            };
            if !response.status().is_redirection() {
                return Err(ResolveError::NotAPost(format!(
                    "{} answered {} without redirecting",
                    current,
                    response.status()
                )));
            }
            let location = response
                .headers()
                .get(LOCATION)
                .and_then(|value| value.to_str().ok())
                .ok_or_else(|| ResolveError::Request("redirect without a Location".into()))?;
            current = current
                .join(location)
                .map_err(|_| ResolveError::BadTarget(location.to_string()))?;
            if !matches!(current.scheme(), "http" | "https") {
                return Err(ResolveError::BadTarget(current.to_string()));
            }
        }
        Err(ResolveError::TooManyHops)
    }

    /// Where to send the request: an override base, or the URL itself once its host is known
    /// to be public.
    async fn request_url(&self, url: &Url) -> Result<Url, ResolveError> {
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
        let port = url.port_or_known_default().unwrap_or(443);
        let addresses = tokio::net::lookup_host((host.as_str(), port))
            .await
            .map_err(|e| ResolveError::Request(format!("cannot resolve {host}: {e}")))?;
        for address in addresses {
            if !is_public(address.ip()) {
                return Err(ResolveError::PrivateAddress(host.clone()));
            }
        }
        Ok(url.clone())
    }
}

fn absolute(url: &str) -> Result<Url, ResolveError> {
    let text = if url.contains("://") {
        url.to_string()
    } else {
        format!("https://{url}")
    };
    Url::parse(&text).map_err(|_| ResolveError::BadTarget(url.to_string()))
}

fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            !(v4.is_private()
                || v4.octets()[0] == 0
                || v4.is_loopback()
                || v4.is_link_local()
                || v4.is_unspecified()
                || v4.is_broadcast()
                || v4.is_documentation()
                || v4.octets()[0] == 100 && (64..128).contains(&v4.octets()[1]))
        }
        // `::ffff:127.0.0.1` is 127.0.0.1.
        IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some() => {
            is_public(IpAddr::V4(v6.to_ipv4_mapped().expect("checked")))
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || (v6.segments()[0] & 0xfe00) == 0xfc00
                || (v6.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "::1",
            "fd00::1",
            "fe80::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        assert!(is_public("1.1.1.1".parse().unwrap()));
    }

    #[tokio::test]
    async fn a_short_link_to_a_loopback_host_is_refused() {
        let resolver = Resolver::new();
        // A hop whose host is (or resolves to) a loopback address is refused before any request.
        assert!(matches!(
            resolver
                .request_url(&Url::parse("http://127.0.0.1/abc").unwrap())
                .await,
            Err(ResolveError::PrivateAddress(_))
        ));
    }
}
