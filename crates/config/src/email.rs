//! `LANTOA_SMTP_URL` and `LANTOA_MAIL_FROM`: the department's relay, checked before anything
//! is sent through it.

use std::net::IpAddr;

use super::{ConfigError, Secret};

/// The relay every email goes through.
#[derive(Debug, Clone)]
pub struct EmailConfig {
    /// The whole URL, credentials included (`smtp://…`, `smtps://…`), as lettre reads it.
    pub url: Secret,
    /// The host, for logs and the dashboard.
    pub host: String,
    /// `auth=xoauth2`: the password is an OAuth2 access token (Microsoft 365 and Google
    /// Workspace where basic authentication is off).
    pub xoauth2: bool,
    /// The sender of every email, e.g. `Lan tỏa <lantoa@sogddt.example.vn>`.
    pub from: String,
}

/// The relay, when `LANTOA_SMTP_URL` is set (then `LANTOA_MAIL_FROM` is required).
pub(crate) fn email_config(
    var: &impl Fn(&str) -> Option<String>,
) -> Result<Option<EmailConfig>, ConfigError> {
    let Some(text) = var("LANTOA_SMTP_URL") else {
        return Ok(None);
    };
    let key = "LANTOA_SMTP_URL";
    let url = url::Url::parse(text.trim()).map_err(|err| {
        ConfigError::new(
            key,
            format!("not a URL ({err}); e.g. smtps://user:pass@smtp.example.vn:465"),
        )
    })?;
    let host = url
        .host_str()
        .filter(|host| !host.is_empty())
        .ok_or_else(|| ConfigError::new(key, "names no host"))?
        .to_string();
    let query = |name: &str| {
        url.query_pairs()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.to_string())
    };
    let encrypted = match (url.scheme(), query("tls").as_deref()) {
        ("smtps", None) => true,
        ("smtp", Some("required")) => true,
        ("smtp", None | Some("opportunistic")) => false,
        ("smtp" | "smtps", Some(other)) => {
            return Err(ConfigError::new(
                key,
                format!("tls=`{other}` is not known (tls=required for STARTTLS, or smtps://)"),
            ));
        }
        (scheme, _) => {
            return Err(ConfigError::new(
                key,
                format!("`{scheme}://` is not smtp:// or smtps://"),
            ));
        }
    };
    // Without TLS the password and every message cross the network in the clear: only to a
    // relay on this machine.
    if !encrypted && !is_loopback(&host) {
        return Err(ConfigError::new(
            key,
            format!(
                "plain SMTP to `{host}` would send passwords and messages unencrypted: use \
                 smtps://…:465 or smtp://…:587?tls=required (plain smtp:// is for a relay on this machine)"
            ),
        ));
    }
    let xoauth2 = match query("auth").as_deref() {
        None => false,
        Some("xoauth2") => true,
        Some(other) => {
            return Err(ConfigError::new(
                key,
                format!("auth=`{other}` is not known (auth=xoauth2, or leave it out)"),
            ));
        }
    };
    let from = var("LANTOA_MAIL_FROM").ok_or_else(|| {
        ConfigError::new("LANTOA_MAIL_FROM", "required when LANTOA_SMTP_URL is set")
    })?;
    if !looks_like_mailbox(&from) {
        return Err(ConfigError::new(
            "LANTOA_MAIL_FROM",
            format!("`{from}` is not an address like `Lan tỏa <lantoa@sogddt.example.vn>`"),
        ));
    }
    Ok(Some(EmailConfig {
        url: Secret::new(text.trim().to_string()),
        host,
        xoauth2,
        from: from.trim().to_string(),
    }))
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    bare.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// `name <local@domain>` or `local@domain`; lettre checks it fully when it builds a message.
fn looks_like_mailbox(text: &str) -> bool {
    let address = match (text.find('<'), text.rfind('>')) {
        (Some(open), Some(close)) if open < close => &text[open + 1..close],
        (None, None) => text.trim(),
        _ => return false,
    };
    matches!(address.split_once('@'), Some((local, domain))
        if !local.is_empty() && domain.contains('.') && !address.contains(char::is_whitespace))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(url: &str, from: Option<&str>) -> Result<Option<EmailConfig>, ConfigError> {
        email_config(&|key: &str| match key {
            "LANTOA_SMTP_URL" => Some(url.to_string()),
            "LANTOA_MAIL_FROM" => from.map(str::to_string),
            _ => None,
        })
    }

    const FROM: Option<&str> = Some("Lan tỏa <lantoa@sogddt.example.vn>");

    #[test]
    fn the_three_forms_of_the_contract_are_accepted() {
        for url in [
            "smtp://127.0.0.1:25",
            "smtp://localhost:2525",
            "smtp://user:pass@smtp.example.vn:587?tls=required",
            "smtps://user:pass@smtp.example.vn:465",
            "smtps://user:token@smtp.office365.com:465?auth=xoauth2",
        ] {
            let config = email(url, FROM).unwrap().unwrap();
            assert!(!config.host.is_empty(), "{url}");
        }
        assert!(
            email("smtps://u:t@smtp.office365.com:465?auth=xoauth2", FROM)
                .unwrap()
                .unwrap()
                .xoauth2
        );
    }

    #[test]
    fn plain_smtp_only_to_this_machine() {
        for url in [
            "smtp://relay.example.vn:25",
            "smtp://user:pass@10.0.0.5:587",
            "smtp://relay.example.vn:587?tls=opportunistic",
        ] {
            let err = email(url, FROM).unwrap_err();
            assert_eq!(err.key, "LANTOA_SMTP_URL");
            assert!(
                err.problem.contains("unencrypted"),
                "{url}: {}",
                err.problem
            );
        }
    }

    #[test]
    fn mistakes_name_the_variable_and_never_the_password() {
        for (url, from, key) in [
            ("http://relay:25", FROM, "LANTOA_SMTP_URL"),
            (
                "smtp://u:secret@relay:587?tls=maybe",
                FROM,
                "LANTOA_SMTP_URL",
            ),
            (
                "smtps://u:secret@relay:465?auth=cram",
                FROM,
                "LANTOA_SMTP_URL",
            ),
            ("smtps://u:secret@relay:465", None, "LANTOA_MAIL_FROM"),
            (
                "smtps://u:secret@relay:465",
                Some("lantoa"),
                "LANTOA_MAIL_FROM",
            ),
        ] {
            let err = email(url, from).unwrap_err();
            assert_eq!(err.key, key, "{url}");
            assert!(!err.to_string().contains("secret"), "{err}");
        }
    }

    #[test]
    fn the_url_never_shows_in_debug_output() {
        let config = email("smtps://u:hunter2@relay.example.vn:465", FROM)
            .unwrap()
            .unwrap();
        assert!(!format!("{config:?}").contains("hunter2"));
    }
}
