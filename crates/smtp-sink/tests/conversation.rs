//! The sink driven through a raw TCP conversation, as a mail client speaks it.

use std::time::Duration;

use lantoa_smtp_sink::{Phase, SmtpSink};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};

/// One client connection: send a line, read a (possibly multi-line) reply.
struct Client {
    reader: BufReader<OwnedReadHalf>,
    writer: OwnedWriteHalf,
}

impl Client {
    /// Connects and returns the greeting too.
    async fn connect(sink: &SmtpSink) -> (Client, String) {
        let stream = TcpStream::connect(sink.address()).await.unwrap();
        let (reader, writer) = stream.into_split();
        let mut client = Client {
            reader: BufReader::new(reader),
            writer,
        };
        let greeting = client.reply().await;
        (client, greeting)
    }

    /// Connects, greets with EHLO and checks both answers.
    async fn ready(sink: &SmtpSink) -> Client {
        let (mut client, greeting) = Client::connect(sink).await;
        assert!(greeting.starts_with("220 "), "{greeting}");
        let ehlo = client.say("EHLO client.example").await;
        assert!(ehlo.ends_with("250 AUTH PLAIN LOGIN"), "{ehlo}");
        client
    }

    /// The reply's lines joined with `\n`; empty when the server closed the connection.
    async fn reply(&mut self) -> String {
        let mut lines = Vec::new();
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line).await.unwrap() == 0 {
                return lines.join("\n");
            }
            assert!(
                line.ends_with("\r\n"),
                "every reply line ends in CRLF: {line:?}"
            );
            let line = line.trim_end().to_string();
            let last = line.as_bytes().get(3) != Some(&b'-');
            lines.push(line);
            if last {
                return lines.join("\n");
            }
        }
    }

    async fn send(&mut self, text: &str) {
        self.writer.write_all(text.as_bytes()).await.unwrap();
    }

    async fn say(&mut self, line: &str) -> String {
        self.send(&format!("{line}\r\n")).await;
        self.reply().await
    }

    /// `MAIL`, `RCPT` and `DATA` of a message whose data is given already dot-stuffed.
    async fn send_message(&mut self, from: &str, to: &str, stuffed: &str) -> String {
        assert!(
            self.say(&format!("MAIL FROM:<{from}>"))
                .await
                .starts_with("250")
        );
        assert!(
            self.say(&format!("RCPT TO:<{to}>"))
                .await
                .starts_with("250")
        );
        assert!(self.say("DATA").await.starts_with("354"));
        self.send(stuffed).await;
        self.say(".").await
    }
}

fn base64(text: &str) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let bytes = text.as_bytes();
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[tokio::test]
async fn a_whole_message_with_dot_stuffing() {
    let sink = SmtpSink::start().await.unwrap();
    let mut client = Client::ready(&sink).await;
    let reply = client
        .say("MAIL FROM:<bot@so.edu.vn> BODY=8BITMIME SMTPUTF8")
        .await;
    assert_eq!(reply, "250 2.1.0 OK");
    assert_eq!(
        client.say("RCPT TO:<hieu.truong@thpt.edu.vn>").await,
        "250 2.1.5 OK"
    );
    assert_eq!(
        client.say("rcpt to:<Pho.Hieu@thpt.edu.vn>").await,
        "250 2.1.5 OK"
    );
    assert!(client.say("DATA").await.starts_with("354 "));
    client
        .send(concat!(
            "From: bot@so.edu.vn\r\n",
            "To: hieu.truong@thpt.edu.vn\r\n",
            "Subject: =?utf-8?b?VHLGsOG7nW5n?=\r\n",
            "  tuần 12\r\n",
            "\r\n",
            "Dòng một.\r\n",
            "..hai chấm đầu dòng\r\n",
            ".\tmột chấm rồi tab\r\n",
            "\r\n",
        ))
        .await;
    assert_eq!(client.say(".").await, "250 2.0.0 OK: queued as 1");
    assert_eq!(client.say("NOOP").await, "250 2.0.0 OK");
    assert_eq!(client.say("QUIT").await, "221 2.0.0 Bye");
    assert_eq!(client.reply().await, "", "the sink closes after QUIT");

    let messages = sink.wait_for(1, Duration::from_secs(1)).await;
    assert_eq!(messages.len(), 1);
    let message = &messages[0];
    assert_eq!(message.from, "bot@so.edu.vn");
    assert_eq!(
        message.to,
        ["hieu.truong@thpt.edu.vn", "Pho.Hieu@thpt.edu.vn"]
    );
    assert_eq!(message.login, None);
    assert_eq!(
        message.header("subject").as_deref(),
        Some("=?utf-8?b?VHLGsOG7nW5n?=  tuần 12")
    );
    assert_eq!(
        message.decoded_header("Subject").as_deref(),
        Some("Trường  tuần 12")
    );
    assert_eq!(
        message.body(),
        "Dòng một.\r\n.hai chấm đầu dòng\r\n\tmột chấm rồi tab\r\n\r\n"
    );
    assert_eq!(sink.connections(), 1);
}

#[tokio::test]
async fn pipelined_commands_and_rset() {
    let sink = SmtpSink::start().await.unwrap();
    let mut client = Client::ready(&sink).await;
    client
        .send("MAIL FROM:<a@b.vn>\r\nRCPT TO:<c@d.vn>\r\nRSET\r\nRCPT TO:<c@d.vn>\r\n")
        .await;
    assert_eq!(client.reply().await, "250 2.1.0 OK");
    assert_eq!(client.reply().await, "250 2.1.5 OK");
    assert_eq!(client.reply().await, "250 2.0.0 OK");
    assert_eq!(client.reply().await, "503 5.5.1 Need MAIL before RCPT");
    assert_eq!(client.say("DATA").await, "503 5.5.1 Need MAIL before DATA");
    assert_eq!(
        client.say("VRFY x").await,
        "500 5.5.2 Command not recognized"
    );
    assert_eq!(
        client.say("STARTTLS").await,
        "500 5.5.2 Command not recognized"
    );
    let long = format!("NOOP {}", "x".repeat(10_000));
    assert_eq!(client.say(&long).await, "500 5.5.6 Line too long");
    assert_eq!(client.say("NOOP").await, "250 2.0.0 OK");
    assert!(client.say("HELO legacy").await.starts_with("250 127.0.0.1"));
    assert!(sink.messages().is_empty());
}

#[tokio::test]
async fn auth_plain_and_login_succeed_and_others_get_535() {
    let sink = SmtpSink::start().await.unwrap();
    sink.require_login("mailer@so.edu.vn", "mật khẩu");

    // MAIL before AUTH.
    let mut client = Client::ready(&sink).await;
    assert_eq!(
        client.say("MAIL FROM:<a@b.vn>").await,
        "530 5.7.0 Authentication Required"
    );
    // AUTH PLAIN with the initial response, wrong password.
    let wrong = base64("\0mailer@so.edu.vn\0wrong");
    assert_eq!(
        client.say(&format!("AUTH PLAIN {wrong}")).await,
        "535 5.7.8 Username and Password not accepted"
    );
    // AUTH PLAIN on continuation, right password.
    assert_eq!(client.say("AUTH PLAIN").await, "334");
    let right = base64("\0mailer@so.edu.vn\0mật khẩu");
    assert_eq!(
        client.say(&right).await,
        "235 2.7.0 Authentication successful"
    );
    assert_eq!(
        client.say("AUTH PLAIN").await,
        "503 5.5.1 Already authenticated"
    );
    let reply = client
        .send_message("a@b.vn", "c@d.vn", "Subject: x\r\n\r\nhello\r\n")
        .await;
    assert!(reply.starts_with("250 2.0.0"), "{reply}");

    // AUTH LOGIN, user then password.
    let mut client = Client::ready(&sink).await;
    assert_eq!(client.say("AUTH LOGIN").await, "334 VXNlcm5hbWU6");
    assert_eq!(
        client.say(&base64("mailer@so.edu.vn")).await,
        "334 UGFzc3dvcmQ6"
    );
    assert_eq!(
        client.say(&base64("mật khẩu")).await,
        "235 2.7.0 Authentication successful"
    );
    // AUTH LOGIN with the user as initial response, wrong password.
    let mut other = Client::ready(&sink).await;
    let reply = other
        .say(&format!("AUTH LOGIN {}", base64("someone")))
        .await;
    assert_eq!(reply, "334 UGFzc3dvcmQ6");
    assert_eq!(
        other.say(&base64("mật khẩu")).await,
        "535 5.7.8 Username and Password not accepted"
    );
    // Cancelled, undecodable and unknown mechanisms.
    assert_eq!(other.say("AUTH PLAIN").await, "334");
    assert_eq!(other.say("*").await, "501 5.7.0 Authentication cancelled");
    assert_eq!(
        other.say("AUTH PLAIN !!!").await,
        "501 5.5.2 Cannot decode the credentials"
    );
    assert_eq!(
        other.say("AUTH CRAM-MD5").await,
        "504 5.5.4 Unrecognized authentication type"
    );

    let messages = sink.wait_for(1, Duration::from_secs(1)).await;
    assert_eq!(messages.len(), 1);
    assert_eq!(messages[0].login.as_deref(), Some("mailer@so.edu.vn"));
    assert_eq!(sink.connections(), 3);
}

#[tokio::test]
async fn scripted_421_on_greeting_closes_the_connection() {
    let sink = SmtpSink::start().await.unwrap();
    sink.refuse_next(Phase::Greeting, "421 4.3.2 Service not available");
    let (mut client, greeting) = Client::connect(&sink).await;
    assert_eq!(greeting, "421 4.3.2 Service not available");
    assert_eq!(client.reply().await, "", "closed after the 421");
    // One-shot: the next connection is greeted normally.
    Client::ready(&sink).await;
    assert_eq!(sink.connections(), 2);
}

#[tokio::test]
async fn scripted_451_after_the_data_keeps_nothing() {
    let sink = SmtpSink::start().await.unwrap();
    sink.refuse_next(
        Phase::EndOfData,
        "451 4.3.0 Temporary failure, try again later",
    );
    let mut client = Client::ready(&sink).await;
    let reply = client
        .send_message("a@b.vn", "c@d.vn", "Subject: one\r\n\r\nbody\r\n")
        .await;
    assert_eq!(reply, "451 4.3.0 Temporary failure, try again later");
    assert!(sink.messages().is_empty());
    // The transaction ended; the retry goes through.
    let reply = client
        .send_message("a@b.vn", "c@d.vn", "Subject: two\r\n\r\nbody\r\n")
        .await;
    assert_eq!(reply, "250 2.0.0 OK: queued as 1");
    assert_eq!(sink.messages()[0].header("Subject").as_deref(), Some("two"));
}

#[tokio::test]
async fn scripted_refusals_at_each_command() {
    let sink = SmtpSink::start().await.unwrap();
    sink.refuse_next(Phase::MailFrom, "451 4.7.1 Try again later");
    sink.refuse_next(Phase::RcptTo, "452 4.2.2 Mailbox full");
    sink.refuse_next(Phase::Data, "554 5.7.1 Rejected");
    sink.refuse_next(Phase::Auth, "454 4.7.0 Temporary authentication failure");
    let mut client = Client::ready(&sink).await;
    assert_eq!(
        client
            .say(&format!("AUTH PLAIN {}", base64("\0u\0p")))
            .await,
        "454 4.7.0 Temporary authentication failure"
    );
    assert_eq!(
        client.say("MAIL FROM:<a@b.vn>").await,
        "451 4.7.1 Try again later"
    );
    assert_eq!(client.say("MAIL FROM:<a@b.vn>").await, "250 2.1.0 OK");
    assert_eq!(
        client.say("RCPT TO:<c@d.vn>").await,
        "452 4.2.2 Mailbox full"
    );
    assert_eq!(client.say("DATA").await, "554 5.5.1 No valid recipients");
    assert_eq!(client.say("RCPT TO:<c@d.vn>").await, "250 2.1.5 OK");
    assert_eq!(client.say("DATA").await, "554 5.7.1 Rejected");
    assert!(client.say("DATA").await.starts_with("354"));
    client.send("Subject: x\r\n\r\nbody\r\n").await;
    assert!(client.say(".").await.starts_with("250"));
    // A 421 at any phase closes the connection after it.
    sink.refuse_next(Phase::MailFrom, "421 4.7.0 Too many errors, closing");
    assert_eq!(
        client.say("MAIL FROM:<a@b.vn>").await,
        "421 4.7.0 Too many errors, closing"
    );
    assert_eq!(client.reply().await, "");
}

#[tokio::test]
async fn an_address_refused_always_gets_550_5_1_1() {
    let sink = SmtpSink::start().await.unwrap();
    let gone = "550 5.1.1 The email account that you tried to reach does not exist";
    sink.refuse_always("nghi.huu@thpt.edu.vn", gone);
    let mut client = Client::ready(&sink).await;
    for _ in 0..2 {
        assert_eq!(client.say("MAIL FROM:<a@b.vn>").await, "250 2.1.0 OK");
        assert_eq!(client.say("RCPT TO:<Nghi.Huu@thpt.edu.vn>").await, gone);
        assert_eq!(client.say("RCPT TO:<c@d.vn>").await, "250 2.1.5 OK");
        assert!(client.say("DATA").await.starts_with("354"));
        client.send("Subject: x\r\n\r\nbody\r\n").await;
        assert!(client.say(".").await.starts_with("250"));
    }
    let messages = sink.messages();
    assert_eq!(messages.len(), 2);
    assert!(messages.iter().all(|m| m.to == ["c@d.vn"]));
}

#[tokio::test]
async fn a_late_answer_to_the_final_dot() {
    let sink = SmtpSink::start().await.unwrap();
    sink.delay_end_of_data(Duration::from_millis(300));
    let mut client = Client::ready(&sink).await;
    assert!(client.say("MAIL FROM:<a@b.vn>").await.starts_with("250"));
    assert!(client.say("RCPT TO:<c@d.vn>").await.starts_with("250"));
    assert!(client.say("DATA").await.starts_with("354"));
    client.send("Subject: slow\r\n\r\nbody\r\n.\r\n").await;
    let early = tokio::time::timeout(Duration::from_millis(100), client.reply()).await;
    assert!(early.is_err(), "no answer before the delay");
    assert!(client.reply().await.starts_with("250"));
    assert_eq!(sink.messages().len(), 1);
}

#[tokio::test]
async fn shutdown_closes_the_listener_and_open_connections() {
    let sink = SmtpSink::start().await.unwrap();
    let mut client = Client::ready(&sink).await;
    let address = sink.address();
    sink.shutdown();
    assert_eq!(client.reply().await, "", "the open connection is closed");
    tokio::time::sleep(Duration::from_millis(50)).await;
    assert!(TcpStream::connect(address).await.is_err());
}
