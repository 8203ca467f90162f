//! One SMTP connection: the greeting, then one command and its reply at a time (pipelined
//! commands are simply read in order), until `QUIT`, end of stream or a `421`.

use std::io;
use std::sync::Arc;

use base64::Engine;
use base64::engine::general_purpose::STANDARD as BASE64;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

use crate::{Phase, Received, Shared};

/// The longest command line read as one (RFC 5321 asks for at least 512 octets); longer ones
/// are answered `500` and skipped.
const MAX_COMMAND: usize = 4096;
/// The longest message accepted; the rest of a longer one is read and dropped, then `552`.
const MAX_MESSAGE: usize = 32 * 1024 * 1024;
/// RFC 5321 §4.5.3.1.8: at least 100 recipients must be accepted.
const MAX_RECIPIENTS: usize = 100;

const GREETING: &str = "220 127.0.0.1 lantoa-smtp-sink ESMTP ready";
const LOGIN_REQUIRED: &str = "530 5.7.0 Authentication Required";
const BAD_LOGIN: &str = "535 5.7.8 Username and Password not accepted";

/// Whether `text` starts like an SMTP reply: three digits, then the end, a space or a dash.
pub(crate) fn is_reply(text: &str) -> bool {
    let bytes = text.as_bytes();
    bytes.len() >= 3
        && bytes[..3].iter().all(u8::is_ascii_digit)
        && matches!(bytes.get(3), None | Some(b' ' | b'-' | b'\r' | b'\n'))
}

/// Serves one connection; a broken connection simply ends it.
pub(crate) async fn serve(shared: Arc<Shared>, stream: TcpStream) {
    let (reader, writer) = stream.into_split();
    let session = Session {
        shared,
        reader: BufReader::new(reader),
        writer,
        greeted: false,
        login: None,
        mail_from: None,
        recipients: Vec::new(),
    };
    let _ = session.run().await;
}

/// What to do after a command.
enum Flow {
    Continue,
    Close,
}

/// A line of the conversation, without its line ending.
enum Line {
    Text(String),
    TooLong,
    End,
}

struct Session {
    shared: Arc<Shared>,
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
    /// Whether `EHLO` or `HELO` was said.
    greeted: bool,
    /// The user who authenticated on this connection.
    login: Option<String>,
    /// The transaction under way: its sender and its accepted recipients.
    mail_from: Option<String>,
    recipients: Vec<String>,
}

impl Session {
    async fn run(mut self) -> io::Result<()> {
        match self.shared.scripted(Phase::Greeting) {
            Some(reply) => {
                self.reply(&reply).await?;
                if !reply.starts_with('2') {
                    return Ok(());
                }
            }
            None => {
                self.reply(GREETING).await?;
            }
        }
        loop {
            let line = match self.read_command().await? {
                Line::Text(line) => line,
                Line::TooLong => {
                    self.reply("500 5.5.6 Line too long").await?;
                    continue;
                }
                Line::End => return Ok(()),
            };
            if let Flow::Close = self.command(&line).await? {
                return Ok(());
            }
        }
    }

    async fn command(&mut self, line: &str) -> io::Result<Flow> {
        let (verb, argument) = line.split_once(' ').unwrap_or((line, ""));
        let argument = argument.trim();
        match verb.to_ascii_uppercase().as_str() {
            "EHLO" => self.hello(argument, true).await,
            "HELO" => self.hello(argument, false).await,
            "AUTH" => self.auth(argument).await,
            "MAIL" => self.mail(argument).await,
            "RCPT" => self.rcpt(argument).await,
            "DATA" => self.data().await,
            "RSET" => {
                self.reset();
                self.reply("250 2.0.0 OK").await
            }
            "NOOP" => self.reply("250 2.0.0 OK").await,
            "QUIT" => {
                self.reply("221 2.0.0 Bye").await?;
                Ok(Flow::Close)
            }
            _ => self.reply("500 5.5.2 Command not recognized").await,
        }
    }

    /// `EHLO` (the extensions lettre uses) or `HELO`; either one resets the transaction.
    async fn hello(&mut self, domain: &str, extended: bool) -> io::Result<Flow> {
        if domain.is_empty() {
            return self.reply("501 5.5.4 Syntax: EHLO hostname").await;
        }
        self.greeted = true;
        self.reset();
        if extended {
            let reply = format!(
                "250-127.0.0.1 greets {domain}\n250-8BITMIME\n250-SMTPUTF8\n250-PIPELINING\n\
                 250 AUTH PLAIN LOGIN"
            );
            self.reply(&reply).await
        } else {
            self.reply(&format!("250 127.0.0.1 greets {domain}")).await
        }
    }

    /// `AUTH PLAIN [initial]` or `AUTH LOGIN [user]` (RFC 4954).
    async fn auth(&mut self, argument: &str) -> io::Result<Flow> {
        if !self.greeted {
            return self.reply("503 5.5.1 Send EHLO first").await;
        }
        if self.login.is_some() {
            return self.reply("503 5.5.1 Already authenticated").await;
        }
        if self.mail_from.is_some() {
            return self
                .reply("503 5.5.1 AUTH is not allowed during a mail transaction")
                .await;
        }
        let mut words = argument.split_whitespace();
        let mechanism = words.next().unwrap_or_default().to_ascii_uppercase();
        let initial = words.next();
        let credentials = match mechanism.as_str() {
            "PLAIN" => self.plain_credentials(initial).await?,
            "LOGIN" => self.login_credentials(initial).await?,
            _ => {
                return self
                    .reply("504 5.5.4 Unrecognized authentication type")
                    .await;
            }
        };
        let (user, pass) = match credentials {
            Ok(credentials) => credentials,
            Err(reply) => return self.reply(reply).await,
        };
        if let Some(reply) = self.shared.scripted(Phase::Auth) {
            if reply.starts_with('2') {
                self.login = Some(user);
            }
            return self.reply(&reply).await;
        }
        if !self.shared.accepts(&user, &pass) {
            return self.reply(BAD_LOGIN).await;
        }
        self.login = Some(user);
        self.reply("235 2.7.0 Authentication successful").await
    }

    /// `authzid NUL authcid NUL passwd`, from the initial response or after a `334`.
    async fn plain_credentials(
        &mut self,
        initial: Option<&str>,
    ) -> io::Result<Result<(String, String), &'static str>> {
        let encoded = match initial {
            Some(initial) => initial.to_string(),
            None => match self.challenge("334 ").await? {
                Some(answer) => answer,
                None => return Ok(Err("501 5.7.0 Authentication cancelled")),
            },
        };
        let Some(decoded) = decode_base64_text(&encoded) else {
            return Ok(Err("501 5.5.2 Cannot decode the credentials"));
        };
        let mut parts = decoded.split('\0');
        match (parts.next(), parts.next(), parts.next(), parts.next()) {
            (Some(_authzid), Some(user), Some(pass), None) => {
                Ok(Ok((user.to_string(), pass.to_string())))
            }
            _ => Ok(Err("501 5.5.2 Cannot decode the credentials")),
        }
    }

    /// The user (initial response or after `334 Username:`), then the password.
    async fn login_credentials(
        &mut self,
        initial: Option<&str>,
    ) -> io::Result<Result<(String, String), &'static str>> {
        let user = match initial {
            Some(initial) => Some(initial.to_string()),
            None => self.challenge("334 VXNlcm5hbWU6").await?,
        };
        let Some(user) = user else {
            return Ok(Err("501 5.7.0 Authentication cancelled"));
        };
        let Some(pass) = self.challenge("334 UGFzc3dvcmQ6").await? else {
            return Ok(Err("501 5.7.0 Authentication cancelled"));
        };
        match (decode_base64_text(&user), decode_base64_text(&pass)) {
            (Some(user), Some(pass)) => Ok(Ok((user, pass))),
            _ => Ok(Err("501 5.5.2 Cannot decode the credentials")),
        }
    }

    /// Sends a `334` challenge and reads the answer; `None` when the client cancels (`*`) or
    /// hangs up.
    async fn challenge(&mut self, challenge: &str) -> io::Result<Option<String>> {
        self.reply(challenge).await?;
        match self.read_command().await? {
            Line::Text(answer) if answer.trim() != "*" => Ok(Some(answer.trim().to_string())),
            _ => Ok(None),
        }
    }

    /// `MAIL FROM:<address> [BODY=8BITMIME] [SMTPUTF8] [SIZE=n]`.
    async fn mail(&mut self, argument: &str) -> io::Result<Flow> {
        if !self.greeted {
            return self.reply("503 5.5.1 Send EHLO or HELO first").await;
        }
        if self.mail_from.is_some() {
            return self.reply("503 5.5.1 Nested MAIL command").await;
        }
        let Some((address, parameters)) = strip_keyword(argument, "FROM:").and_then(parse_path)
        else {
            return self.reply("501 5.5.4 Syntax: MAIL FROM:<address>").await;
        };
        if !parameters.split_whitespace().all(known_mail_parameter) {
            return self.reply("555 5.5.4 Unsupported MAIL parameter").await;
        }
        if self.shared.login_required() && self.login.is_none() {
            return self.reply(LOGIN_REQUIRED).await;
        }
        if let Some(reply) = self.shared.scripted(Phase::MailFrom) {
            if reply.starts_with('2') {
                self.mail_from = Some(address);
            }
            return self.reply(&reply).await;
        }
        self.mail_from = Some(address);
        self.reply("250 2.1.0 OK").await
    }

    /// `RCPT TO:<address>`.
    async fn rcpt(&mut self, argument: &str) -> io::Result<Flow> {
        if self.mail_from.is_none() {
            return self.reply("503 5.5.1 Need MAIL before RCPT").await;
        }
        let Some((address, _)) = strip_keyword(argument, "TO:").and_then(parse_path) else {
            return self.reply("501 5.5.4 Syntax: RCPT TO:<address>").await;
        };
        if address.is_empty() {
            return self.reply("501 5.1.3 Bad recipient address syntax").await;
        }
        if self.recipients.len() >= MAX_RECIPIENTS {
            return self.reply("452 4.5.3 Too many recipients").await;
        }
        let reply = self
            .shared
            .scripted(Phase::RcptTo)
            .or_else(|| self.shared.refusal_for(&address))
            .unwrap_or_else(|| "250 2.1.5 OK".to_string());
        if reply.starts_with('2') {
            self.recipients.push(address);
        }
        self.reply(&reply).await
    }

    /// `DATA`: `354`, the message up to the lone dot, then the verdict.
    async fn data(&mut self) -> io::Result<Flow> {
        if self.mail_from.is_none() {
            return self.reply("503 5.5.1 Need MAIL before DATA").await;
        }
        if self.recipients.is_empty() {
            return self.reply("554 5.5.1 No valid recipients").await;
        }
        if let Some(reply) = self.shared.scripted(Phase::Data) {
            return self.reply(&reply).await;
        }
        self.reply("354 End data with <CR><LF>.<CR><LF>").await?;
        let Some(data) = self.read_data().await? else {
            return Ok(Flow::Close);
        };
        let delay = self.shared.end_of_data_delay();
        if !delay.is_zero() {
            tokio::time::sleep(delay).await;
        }
        let from = self.mail_from.take().unwrap_or_default();
        let to = std::mem::take(&mut self.recipients);
        let Ok(data) = data else {
            return self.reply("552 5.3.4 Message too big").await;
        };
        if let Some(reply) = self.shared.scripted(Phase::EndOfData) {
            return self.reply(&reply).await;
        }
        let number = self.shared.record(Received {
            from,
            to,
            data: String::from_utf8_lossy(&data).into_owned(),
            login: self.login.clone(),
        });
        self.reply(&format!("250 2.0.0 OK: queued as {number}"))
            .await
    }

    /// Reads the message up to the line holding a lone dot and undoes dot-stuffing.
    /// `None` when the client hangs up first; `Err(())` inside when the message is too big.
    async fn read_data(&mut self) -> io::Result<Option<Result<Vec<u8>, ()>>> {
        let mut data = Vec::new();
        let mut too_big = false;
        let mut line_start = true;
        loop {
            let mut chunk = Vec::new();
            let read = (&mut self.reader)
                .take(MAX_COMMAND as u64)
                .read_until(b'\n', &mut chunk)
                .await?;
            if read == 0 {
                return Ok(None);
            }
            let mut chunk = chunk.as_slice();
            if line_start {
                if chunk == b".\r\n" || chunk == b".\n" {
                    break;
                }
                if chunk.first() == Some(&b'.') {
                    chunk = &chunk[1..];
                }
            }
            line_start = chunk.ends_with(b"\n");
            if data.len() + chunk.len() > MAX_MESSAGE {
                too_big = true;
            } else if !too_big {
                data.extend_from_slice(chunk);
            }
        }
        Ok(Some(if too_big { Err(()) } else { Ok(data) }))
    }

    /// Reads one command line. A line longer than [`MAX_COMMAND`] is read to its end and
    /// reported as too long.
    async fn read_command(&mut self) -> io::Result<Line> {
        let mut line = Vec::new();
        let read = (&mut self.reader)
            .take(MAX_COMMAND as u64)
            .read_until(b'\n', &mut line)
            .await?;
        if read == 0 {
            return Ok(Line::End);
        }
        if !line.ends_with(b"\n") {
            if line.len() < MAX_COMMAND {
                // The client hung up in the middle of a line.
                return Ok(Line::End);
            }
            self.skip_line().await?;
            return Ok(Line::TooLong);
        }
        let text = String::from_utf8_lossy(&line);
        Ok(Line::Text(text.trim_end_matches(['\r', '\n']).to_string()))
    }

    /// Reads and drops the rest of an overlong line.
    async fn skip_line(&mut self) -> io::Result<()> {
        loop {
            let mut rest = Vec::new();
            let read = (&mut self.reader)
                .take(MAX_COMMAND as u64)
                .read_until(b'\n', &mut rest)
                .await?;
            if read == 0 || rest.ends_with(b"\n") {
                return Ok(());
            }
        }
    }

    /// Writes a reply (its lines separated by `\n`, each sent with CRLF). A `421` closes the
    /// connection after it, as RFC 5321 §3.8 says.
    async fn reply(&mut self, reply: &str) -> io::Result<Flow> {
        let mut wire = String::with_capacity(reply.len() + 2);
        for line in reply.lines() {
            wire.push_str(line);
            wire.push_str("\r\n");
        }
        self.writer.write_all(wire.as_bytes()).await?;
        self.writer.flush().await?;
        Ok(if reply.starts_with("421") {
            Flow::Close
        } else {
            Flow::Continue
        })
    }

    fn reset(&mut self) {
        self.mail_from = None;
        self.recipients.clear();
    }
}

/// `argument` after `keyword` (compared without case), e.g. `FROM:` of `MAIL FROM:<…>`.
fn strip_keyword<'a>(argument: &'a str, keyword: &str) -> Option<&'a str> {
    let head = argument.get(..keyword.len())?;
    head.eq_ignore_ascii_case(keyword)
        .then(|| &argument[keyword.len()..])
}

/// `<address> parameters`: the address between the angle brackets (empty for the null
/// sender `<>`) and what follows.
fn parse_path(path: &str) -> Option<(String, &str)> {
    let path = path.trim_start().strip_prefix('<')?;
    let (address, parameters) = path.split_once('>')?;
    Some((address.trim().to_string(), parameters.trim()))
}

/// The `MAIL` parameters of the advertised extensions (and `SIZE`).
fn known_mail_parameter(parameter: &str) -> bool {
    let (name, value) = parameter.split_once('=').unwrap_or((parameter, ""));
    match name.to_ascii_uppercase().as_str() {
        "BODY" => ["7BIT", "8BITMIME"].contains(&value.to_ascii_uppercase().as_str()),
        "SMTPUTF8" => value.is_empty(),
        "SIZE" => !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()),
        _ => false,
    }
}

/// Base64 of UTF-8 text (`=` alone is the empty string, RFC 4954 §4).
fn decode_base64_text(encoded: &str) -> Option<String> {
    if encoded == "=" {
        return Some(String::new());
    }
    let bytes = BASE64.decode(encoded.trim()).ok()?;
    String::from_utf8(bytes).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replies_start_with_a_code() {
        assert!(is_reply("421 4.3.2 Service not available"));
        assert!(is_reply("250"));
        assert!(is_reply("250-first line"));
        assert!(!is_reply("42 short"));
        assert!(!is_reply("4211 too long"));
        assert!(!is_reply("Service not available"));
    }

    #[test]
    fn paths_and_parameters() {
        assert_eq!(
            strip_keyword("from:<a@b.vn> BODY=8BITMIME", "FROM:").and_then(parse_path),
            Some(("a@b.vn".to_string(), "BODY=8BITMIME"))
        );
        assert_eq!(parse_path(" <>"), Some((String::new(), "")));
        assert_eq!(parse_path("a@b.vn"), None);
        assert!(known_mail_parameter("BODY=8BITMIME"));
        assert!(known_mail_parameter("smtputf8"));
        assert!(known_mail_parameter("SIZE=1024"));
        assert!(!known_mail_parameter("RET=HDRS"));
    }

    #[test]
    fn base64_credentials() {
        assert_eq!(decode_base64_text("dXNlcg==").as_deref(), Some("user"));
        assert_eq!(decode_base64_text("=").as_deref(), Some(""));
        assert_eq!(decode_base64_text("not base64!"), None);
    }
}
