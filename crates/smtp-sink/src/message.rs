//! A message the sink accepted, and the small amount of RFC 5322 / MIME reading a test needs to
//! assert on it: headers (unfolded, and with RFC 2047 encoded words decoded) and a single-part
//! body undone from base64 or quoted-printable.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;

/// One message the sink accepted (answered `250` after its final dot).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// The `MAIL FROM` address (empty for the null sender `<>`).
    pub from: String,
    /// The accepted `RCPT TO` addresses, in order.
    pub to: Vec<String>,
    /// The raw message as sent, dot-stuffing undone, lines ending in CRLF.
    pub data: String,
    /// The user who authenticated on the connection, if any.
    pub login: Option<String>,
}

impl Received {
    /// The first header called `name` (without case), unfolded, as written: encoded words
    /// such as `=?utf-8?b?…?=` are left alone (see [`Received::decoded_header`]).
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers()
            .into_iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value)
    }

    /// [`Received::header`] with RFC 2047 encoded words (UTF-8 or ASCII, `B` or `Q`) decoded,
    /// e.g. a Vietnamese `Subject`.
    pub fn decoded_header(&self, name: &str) -> Option<String> {
        self.header(name).map(|value| decode_words(&value))
    }

    /// Every header as `(name, unfolded value)`, in order.
    pub fn headers(&self) -> Vec<(String, String)> {
        let mut headers: Vec<(String, String)> = Vec::new();
        for line in self.head().lines() {
            if line.starts_with([' ', '\t']) {
                if let Some((_, value)) = headers.last_mut() {
                    value.push_str(line);
                }
                continue;
            }
            if let Some((name, value)) = line.split_once(':') {
                headers.push((name.trim().to_string(), value.to_string()));
            }
        }
        for (_, value) in &mut headers {
            *value = value.trim().to_string();
        }
        headers
    }

    /// The body as sent: everything after the blank line that ends the headers.
    pub fn body(&self) -> &str {
        self.split().1
    }

    /// The body undone from its `Content-Transfer-Encoding` (base64 or quoted-printable; 7bit
    /// and 8bit as they are), read as UTF-8. Meant for single-part messages, as the product
    /// sends; a multipart body comes back as sent.
    pub fn text(&self) -> String {
        let encoding = self
            .header("Content-Transfer-Encoding")
            .unwrap_or_default()
            .to_ascii_lowercase();
        let body = self.body();
        let bytes = match encoding.as_str() {
            "base64" => {
                let compact: String = body.chars().filter(|c| !c.is_whitespace()).collect();
                BASE64
                    .decode(compact)
                    .unwrap_or_else(|_| body.as_bytes().to_vec())
            }
            "quoted-printable" => decode_quoted_printable(body),
            _ => body.as_bytes().to_vec(),
        };
        String::from_utf8_lossy(&bytes).into_owned()
    }

    fn head(&self) -> &str {
        self.split().0
    }

    /// `(headers, body)` at the first blank line.
    fn split(&self) -> (&str, &str) {
        let data = self.data.as_str();
        for separator in ["\r\n\r\n", "\n\n"] {
            if let Some(at) = data.find(separator) {
                return (&data[..at], &data[at + separator.len()..]);
            }
        }
        (data, "")
    }
}

/// Quoted-printable (RFC 2045 §6.7): `=XX` is a byte, `=` at the end of a line joins it to
/// the next.
fn decode_quoted_printable(text: &str) -> Vec<u8> {
    let bytes = text.as_bytes();
    let mut decoded = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] != b'=' {
            decoded.push(bytes[i]);
            i += 1;
            continue;
        }
        let rest = &bytes[i + 1..];
        if rest.starts_with(b"\r\n") {
            i += 3;
        } else if rest.starts_with(b"\n") {
            i += 2;
        } else if let Some(byte) = rest.get(..2).and_then(hex_byte) {
            decoded.push(byte);
            i += 3;
        } else {
            decoded.push(b'=');
            i += 1;
        }
    }
    decoded
}

fn hex_byte(pair: &[u8]) -> Option<u8> {
    let text = std::str::from_utf8(pair).ok()?;
    u8::from_str_radix(text, 16).ok()
}

/// Decodes RFC 2047 encoded words; the blanks between two adjacent encoded words go, as the
/// RFC says. Words in another charset, or malformed ones, stay as written.
fn decode_words(value: &str) -> String {
    let mut decoded = String::with_capacity(value.len());
    let mut rest = value;
    let mut after_word = false;
    while let Some(start) = rest.find("=?") {
        let (before, candidate) = rest.split_at(start);
        match encoded_word(candidate) {
            Some((text, length)) => {
                if !(after_word && before.trim().is_empty()) {
                    decoded.push_str(before);
                }
                decoded.push_str(&text);
                rest = &candidate[length..];
                after_word = true;
            }
            None => {
                decoded.push_str(before);
                decoded.push_str("=?");
                rest = &candidate[2..];
                after_word = false;
            }
        }
    }
    decoded.push_str(rest);
    decoded
}

/// `=?charset?encoding?text?=` at the start of `word`: its text and its length.
fn encoded_word(word: &str) -> Option<(String, usize)> {
    let inner = word.strip_prefix("=?")?;
    let (charset, inner) = inner.split_once('?')?;
    let (encoding, inner) = inner.split_once('?')?;
    let end = inner.find("?=")?;
    let text = &inner[..end];
    let charset = charset.to_ascii_lowercase();
    if !["utf-8", "utf8", "us-ascii"].contains(&charset.as_str()) {
        return None;
    }
    let bytes = match encoding {
        "B" | "b" => BASE64.decode(text).ok()?,
        "Q" | "q" => decode_quoted_printable(&text.replace('_', " ")),
        _ => return None,
    };
    let length = 2 + charset.len() + 1 + encoding.len() + 1 + end + 2;
    Some((String::from_utf8(bytes).ok()?, length))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(data: &str) -> Received {
        Received {
            from: "a@b.vn".into(),
            to: vec!["c@d.vn".into()],
            data: data.into(),
            login: None,
        }
    }

    #[test]
    fn headers_are_unfolded_and_found_without_case() {
        let m = message(
            "Subject: first\r\n part\r\nTo: c@d.vn\r\nX-Empty:\r\n\r\nbody line\r\n\r\nmore\r\n",
        );
        assert_eq!(m.header("subject").as_deref(), Some("first part"));
        assert_eq!(m.header("TO").as_deref(), Some("c@d.vn"));
        assert_eq!(m.header("X-Empty").as_deref(), Some(""));
        assert_eq!(m.header("Cc"), None);
        assert_eq!(m.body(), "body line\r\n\r\nmore\r\n");
    }

    #[test]
    fn encoded_words_are_decoded() {
        assert_eq!(
            decode_words("=?utf-8?b?VHLGsOG7nW5n?= =?utf-8?q?_h=E1=BB=8Dc?= xong"),
            "Trường học xong"
        );
        assert_eq!(
            decode_words("=?iso-8859-1?q?caf=E9?="),
            "=?iso-8859-1?q?caf=E9?="
        );
        assert_eq!(decode_words("plain =? text"), "plain =? text");
    }

    #[test]
    fn bodies_are_undone_from_their_transfer_encoding() {
        let m =
            message("Content-Transfer-Encoding: base64\r\n\r\nWGluIGNow6BvIHRo4bqneSBjw7Qu\r\n");
        assert_eq!(m.text(), "Xin chào thầy cô.");
        let m = message(
            "Content-Transfer-Encoding: quoted-printable\r\n\r\nXin ch=C3=A0o =\r\nth=E1=BA=A7y c=C3=B4.\r\n",
        );
        assert_eq!(m.text(), "Xin chào thầy cô.\r\n");
        let m = message("Subject: x\r\n\r\nplain");
        assert_eq!(m.text(), "plain");
    }
}
