use url::Url;

use super::{facebook::facebook_site, query};

pub(super) fn redirect_target(host: &str, url: &Url) -> Option<String> {
    let path = url.path();
    let is_facebook_wrapper = (host == "l.messenger.com"
        || facebook_site(host.strip_prefix("www.").unwrap_or(host)).is_some())
        && path.starts_with("/l.php");
    if is_facebook_wrapper {
        return query(url, "u");
    }
    // A logged-out visitor is sent to the login page with the post in `next`.
    let is_facebook_login = facebook_site(host.strip_prefix("www.").unwrap_or(host)).is_some()
        && (path.starts_with("/login") || path == "/checkpoint/");
    if is_facebook_login {
        return query(url, "next");
    }
    let is_youtube_wrapper = host.ends_with("youtube.com") && path == "/redirect";
    if is_youtube_wrapper {
        return query(url, "q");
    }
    None
}
