//! Links that only carry another link: redirect and warning pages, login walls, embed and
//! share plugins, oEmbed endpoints, AMP caches, hashbang and fragment routes. The carried link
//! is canonicalized instead (sources in `docs/canonical-keys.md`).

use url::Url;

use super::{facebook::facebook_site, query, youtube::is_youtube_site};

/// The link `url` carries, absolute (a relative target is read against the wrapper).
pub(super) fn redirect_target(host: &str, site: &str, url: &Url) -> Option<String> {
    let path = url.path();
    let carried =
        |name: &str| query(url, name).and_then(|target| url.join(&target).ok().map(String::from));
    if host == "l.messenger.com" || facebook_site(site).is_some() {
        // `#!/page/posts/1`: the old hashbang site kept the real path in the fragment, behind
        // the front page, a shell page or a page's name — never behind a post's own path.
        let shell = url
            .path_segments()
            .map(|segments| segments.filter(|s| !s.is_empty()).count() <= 1)
            .unwrap_or(true);
        if shell
            && let Some(route) = url.fragment().and_then(|f| f.strip_prefix('!'))
            && route.starts_with('/')
            && route.len() > 1
        {
            return Some(format!("https://www.facebook.com{route}"));
        }
        let is = |word: &str| path.eq_ignore_ascii_case(word);
        let starts = |word: &str| {
            path.get(..word.len())
                .is_some_and(|head| head.eq_ignore_ascii_case(word))
        };
        const CARRY_U: [&str; 7] = [
            "/l.php",
            "/flx/warn",
            "/flx/warn/",
            "/sharer.php",
            "/sharer/sharer.php",
            "/sharer",
            "/sharer/",
        ];
        return if CARRY_U.iter().any(|word| is(word)) {
            carried("u")
        } else if starts("/login") || is("/checkpoint/") || is("/checkpoint") {
            // A logged-out visitor is sent to the login page with the post in `next`.
            carried("next")
        } else if starts("/plugins/") || starts("/dialog/") {
            // Embed plugins (`plugins/video.php`, `plugins/post.php`, …), their oEmbed
            // endpoints (`plugins/post/oembed.json/?url=`) and share dialogs.
            carried("href")
                .or_else(|| carried("url"))
                .or_else(|| carried("u"))
        } else {
            None
        };
    }
    if is_youtube_site(site) {
        if site == "consent.youtube.com" {
            return carried("continue");
        }
        // `m.youtube.com/#/watch?v=…`: the mobile site once routed in the fragment (also
        // escaped: `#%2Fwatch%3Fv%3D…`).
        if path == "/"
            && let Some(route) = url.fragment()
        {
            let route = if route.starts_with("%2F") || route.starts_with("%2f") {
                url::form_urlencoded::parse(format!("r={route}").as_bytes())
                    .next()
                    .map(|(_, value)| value.into_owned())
                    .unwrap_or_default()
            } else {
                route.to_string()
            };
            if route.starts_with('/') && route.len() > 1 {
                return Some(format!("https://www.youtube.com{route}"));
            }
        }
        let lower_path = path.to_ascii_lowercase();
        return match lower_path.trim_end_matches('/') {
            "/redirect" => carried("q"),
            "/attribution_link" => carried("u"),
            "/signin" | "/logout" => carried("next").or_else(|| carried("continue")),
            "/oembed" => carried("url"),
            _ => None,
        };
    }
    if site == "accounts.google.com" {
        return carried("continue");
    }
    // A search result's click-through: `google.com/url?q=…` (or `url=`), on every Google.
    if (site.starts_with("google.") || site.contains(".google.")) && path == "/url" {
        return carried("url").or_else(|| carried("q"));
    }
    amp_cache_target(site, url)
}

/// `*.cdn.ampproject.org/c/s/{host}/{path}` (`/v/` is the viewer, no `s/` means http) and
/// `google.com/amp/s/{host}/{path}` are cached copies of `{host}/{path}`.
fn amp_cache_target(site: &str, url: &Url) -> Option<String> {
    let rest = if site.ends_with(".cdn.ampproject.org") || site == "cdn.ampproject.org" {
        let path = url.path();
        ["/c/", "/v/", "/wp/"]
            .iter()
            .find_map(|prefix| path.strip_prefix(prefix))?
    } else if site == "google.com" || site.starts_with("google.com.") || site == "bing.com" {
        url.path().strip_prefix("/amp/")?
    } else {
        return None;
    };
    let rest = rest.trim_start_matches('/');
    let (scheme, rest) = match rest.strip_prefix("s/") {
        Some(rest) => ("https", rest.trim_start_matches('/')),
        None => ("http", rest),
    };
    // `/v/s/` alone, or `/v/s`: no page inside.
    if !rest
        .split('/')
        .next()
        .is_some_and(|host| host.contains('.'))
    {
        return None;
    }
    let mut target = format!("{scheme}://{rest}");
    if let Some(query) = url.query() {
        target.push('?');
        target.push_str(query);
    }
    Some(target)
}
