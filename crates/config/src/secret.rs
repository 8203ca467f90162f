//! Values that must never be printed: secrets, and the database URL's password.

use std::fmt;

/// A value that must never be printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The database URL may carry a password, so its `Debug` form hides everything after the scheme.
#[derive(Clone)]
pub struct DatabaseUrl(String);

impl DatabaseUrl {
    pub fn new(url: impl Into<String>) -> Self {
        Self(url.into())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The URL with any password replaced, fit for logs (`url` parses the credentials, so
    /// an `@` or `:` inside the password cannot leak part of it).
    pub fn redacted(&self) -> String {
        match url::Url::parse(&self.0) {
            Ok(mut url) if url.password().is_some() => {
                let _ = url.set_password(Some("redacted"));
                url.to_string()
            }
            Ok(_) => self.0.clone(),
            Err(_) => "[unparsable URL]".to_string(),
        }
    }
}

impl fmt::Debug for DatabaseUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DatabaseUrl({})", self.redacted())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_database_password_never_shows() {
        let url = DatabaseUrl::new("postgres://lantoa:p@ss:w0rd@db.internal:5432/lantoa");
        let shown = url.redacted();
        assert_eq!(shown, "postgres://lantoa:redacted@db.internal:5432/lantoa");
        assert!(!format!("{url:?}").contains("w0rd"));
        let plain = DatabaseUrl::new("sqlite:///var/lib/lantoa/lantoa.db");
        assert_eq!(plain.redacted(), "sqlite:///var/lib/lantoa/lantoa.db");
        assert_eq!(format!("{:?}", Secret::new("token")), "Secret([redacted])");
    }
}
