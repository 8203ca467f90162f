//! What a person's text asks for. Case- and diacritic-insensitive, with an optional leading
//! `/` or `#`: `DK GV001`, `đăng ký gv001`, `#dangky GV001`.

use lantoa_domain::text::fold;

use crate::links::extract_urls;
use lantoa_domain::ids::RequestId;

/// At most this many links are taken from one message.
pub const MAX_LINKS_PER_MESSAGE: usize = 20;

/// A registration code is never longer than this; longer ones are refused without an echo.
pub const MAX_CODE_CHARS: usize = 32;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Intent {
    /// `DK <code>`: an invite code or a roster code, upper-cased; only letters, digits,
    /// `-`, `_` and `.`, at most [`MAX_CODE_CHARS`].
    Register {
        code: String,
    },
    RegisterWithoutCode,
    /// `DK` with something that cannot be a code (too long, or other characters).
    RegisterInvalidCode,
    /// `DONGY <n>` / `TUCHOI <n>` (heads): decide registration request number `n`.
    DecideRequest {
        request_id: Option<RequestId>,
        approve: bool,
    },
    /// `DULIEU`: what is kept about me.
    MyData,
    /// `TAT EMAIL` (false) / `BAT EMAIL` (true): stop or resume email and paid templates.
    Reach {
        on: bool,
    },
    /// `XOA`, then `XOA DONGY` to confirm: erase my chat data.
    Erase {
        confirmed: bool,
    },
    /// `HUY <link>`: withdraw one's own submission of this week.
    Withdraw {
        url: Option<String>,
    },
    Query(Query),
    /// `CHON <code> <code> <code>` (Văn phòng): the week's pages.
    Choose {
        codes: Vec<String>,
    },
    /// `DUYET` (Văn phòng): accept the suggested pages.
    Approve,
    /// `WEB` (heads, admins): a one-time link to the dashboard.
    WebLink,
    Help,
    Links {
        urls: Vec<String>,
        dropped: usize,
    },
    Other,
}

/// Questions about the current week.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Query {
    /// `TK`: what I sent this week, counted or not.
    MyWeek,
    /// `DV` (heads): my unit's week so far, who has not sent yet.
    UnitWeek,
    /// `TRANG`: this week's pages to share.
    Pages,
}

impl Query {
    pub fn template(self) -> &'static str {
        match self {
            Self::MyWeek => "my_week",
            Self::UnitWeek => "unit_week",
            Self::Pages => "pages",
        }
    }
}

/// Lower-case ASCII-ish text: diacritics removed, `đ` → `d`.
pub fn parse(text: &str, attachment_urls: &[String]) -> Intent {
    let folded = fold(text.trim());
    let command = folded.trim_start_matches(['/', '#']).replace(':', " ");
    let words: Vec<&str> = command.split_whitespace().collect();
    let rest = match words.as_slice() {
        ["dk", rest @ ..] | ["dang", "ky", rest @ ..] | ["dangky", rest @ ..] => Some(rest),
        _ => None,
    };
    if let Some(rest) = rest {
        return register(rest);
    }
    if matches!(words.first(), Some(&"huy")) {
        return Intent::Withdraw {
            url: extract_urls(text).into_iter().next(),
        };
    }
    let mut urls = extract_urls(text);
    for url in attachment_urls {
        if !urls.contains(url) {
            urls.push(url.clone());
        }
    }
    if !urls.is_empty() {
        let dropped = urls.len().saturating_sub(MAX_LINKS_PER_MESSAGE);
        urls.truncate(MAX_LINKS_PER_MESSAGE);
        return Intent::Links { urls, dropped };
    }
    match words.as_slice() {
        ["hd"] | ["huong", "dan"] | ["help"] | ["?"] | ["tro", "giup"] => Intent::Help,
        ["tk"] | ["thong", "ke"] => Intent::Query(Query::MyWeek),
        ["dv"] | ["don", "vi"] => Intent::Query(Query::UnitWeek),
        ["trang"] => Intent::Query(Query::Pages),
        ["duyet"] => Intent::Approve,
        ["web"] | ["dashboard"] => Intent::WebLink,
        ["dongy" | "dong-y", rest @ ..] | ["dong", "y", rest @ ..] => decide_request(rest, true),
        ["tuchoi" | "tu-choi", rest @ ..] | ["tu", "choi", rest @ ..] => {
            decide_request(rest, false)
        }
        ["dulieu"] | ["du", "lieu"] => Intent::MyData,
        ["tat", "email" | "mail"] | ["tatemail"] => Intent::Reach { on: false },
        ["bat", "email" | "mail"] | ["batemail"] => Intent::Reach { on: true },
        ["xoa"] => Intent::Erase { confirmed: false },
        ["xoa", "dongy"] | ["xoa", "dong", "y"] => Intent::Erase { confirmed: true },
        ["chon", codes @ ..] if !codes.is_empty() => Intent::Choose {
            codes: codes
                .iter()
                .map(|c| c.trim_matches([',', ';']).to_ascii_uppercase())
                .filter(|c| !c.is_empty())
                .collect(),
        },
        _ => Intent::Other,
    }
}

/// The code of a `DK`: one word, or two groups of five (`DK ABCDE FGHJK`).
fn register(rest: &[&str]) -> Intent {
    let code = match rest {
        [] => return Intent::RegisterWithoutCode,
        [first, second, ..] if first.chars().count() == 5 && second.chars().count() == 5 => {
            format!("{first}{second}")
        }
        [first, ..] => first.to_string(),
    };
    let code = code.trim_matches([':', '.', ',']);
    let well_formed = !code.is_empty()
        && code.len() <= MAX_CODE_CHARS
        && code
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if well_formed {
        Intent::Register {
            code: code.to_ascii_uppercase(),
        }
    } else {
        Intent::RegisterInvalidCode
    }
}

fn decide_request(rest: &[&str], approve: bool) -> Intent {
    let request_id = rest
        .first()
        .map(|word| word.trim_start_matches('#'))
        .and_then(|word| word.parse().ok())
        .filter(|id: &i64| *id > 0)
        .map(RequestId);
    Intent::DecideRequest {
        request_id,
        approve,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn register(code: &str) -> Intent {
        Intent::Register { code: code.into() }
    }

    #[test]
    fn registration_in_every_spelling() {
        for text in [
            "DK GV0001",
            "dk gv0001",
            "Đk GV0001",
            "/dk GV0001",
            "#DK GV0001",
            "đăng ký GV0001",
            "Đăng Ký  gv0001",
            "dang ky GV0001",
            "#dangky: GV0001",
            "DK: GV0001.",
            "  ĐĂNG KÝ GV0001 ",
        ] {
            assert_eq!(parse(text, &[]), register("GV0001"), "{text}");
        }
        assert_eq!(parse("dk", &[]), Intent::RegisterWithoutCode);
        // NFD input, as some phones send it.
        assert_eq!(parse("đa\u{306}ng ky\u{301} gv1", &[]), register("GV1"));
    }

    #[test]
    fn links_help_and_everything_else() {
        assert_eq!(
            parse(
                "bài mới https://fb.com/a/posts/1",
                &["https://fb.com/b/posts/2".into()]
            ),
            Intent::Links {
                urls: vec![
                    "https://fb.com/a/posts/1".into(),
                    "https://fb.com/b/posts/2".into()
                ],
                dropped: 0
            }
        );
        assert_eq!(parse("HD", &[]), Intent::Help);
        assert_eq!(
            parse("Hủy https://fb.com/a/posts/1", &[]),
            Intent::Withdraw {
                url: Some("https://fb.com/a/posts/1".into())
            }
        );
        assert_eq!(parse("/huy", &[]), Intent::Withdraw { url: None });
        assert_eq!(parse("tk", &[]), Intent::Query(Query::MyWeek));
        assert_eq!(parse("#DV", &[]), Intent::Query(Query::UnitWeek));
        assert_eq!(parse("Trang", &[]), Intent::Query(Query::Pages));
        assert_eq!(parse("duyệt", &[]), Intent::Approve);
        assert_eq!(
            parse("Chọn th-lg-01, pgd-hl", &[]),
            Intent::Choose {
                codes: vec!["TH-LG-01".into(), "PGD-HL".into()]
            }
        );
        assert_eq!(parse("Hướng dẫn", &[]), Intent::Help);
        assert_eq!(parse("xin chào", &[]), Intent::Other);
        assert_eq!(parse("dkx GV1", &[]), Intent::Other);
    }

    #[test]
    fn grouped_invite_codes_and_codes_that_cannot_be() {
        assert_eq!(parse("DK abcde-fghjk", &[]), register("ABCDE-FGHJK"));
        assert_eq!(parse("dk ABCDE FGHJK", &[]), register("ABCDEFGHJK"));
        assert_eq!(parse("DK GV0001 cảm ơn", &[]), register("GV0001"));
        let long = format!("DK {}", "A".repeat(10_000));
        assert_eq!(parse(&long, &[]), Intent::RegisterInvalidCode);
        assert_eq!(
            parse(&format!("DK {}", "A".repeat(33)), &[]),
            Intent::RegisterInvalidCode
        );
        assert_eq!(
            parse(&format!("DK {}", "A".repeat(32)), &[]),
            register(&"A".repeat(32))
        );
        assert_eq!(parse("DK GV\u{202E}001", &[]), Intent::RegisterInvalidCode);
        assert_eq!(parse("DK <script>", &[]), Intent::RegisterInvalidCode);
    }

    #[test]
    fn approvals_and_personal_data_commands() {
        let decide = |request_id, approve| Intent::DecideRequest {
            request_id,
            approve,
        };
        assert_eq!(parse("DONGY 12", &[]), decide(Some(RequestId(12)), true));
        assert_eq!(parse("đồng ý #12", &[]), decide(Some(RequestId(12)), true));
        assert_eq!(parse("Từ chối 7", &[]), decide(Some(RequestId(7)), false));
        assert_eq!(parse("tuchoi", &[]), decide(None, false));
        assert_eq!(parse("dongy -3", &[]), decide(None, true));
        assert_eq!(parse("DULIEU", &[]), Intent::MyData);
        assert_eq!(parse("TAT EMAIL", &[]), Intent::Reach { on: false });
        assert_eq!(parse("tắt email", &[]), Intent::Reach { on: false });
        assert_eq!(parse("/bật Email", &[]), Intent::Reach { on: true });
        assert_eq!(parse("dữ liệu", &[]), Intent::MyData);
        assert_eq!(parse("XOA", &[]), Intent::Erase { confirmed: false });
        assert_eq!(parse("xóa đồng ý", &[]), Intent::Erase { confirmed: true });
    }

    #[test]
    fn at_most_twenty_links_are_taken() {
        let text: String = (0..25).map(|i| format!("https://a.vn/p/{i} ")).collect();
        match parse(&text, &[]) {
            Intent::Links { urls, dropped } => {
                assert_eq!(urls.len(), 20);
                assert_eq!(dropped, 5);
                assert_eq!(urls[19], "https://a.vn/p/19");
            }
            other => panic!("{other:?}"),
        }
    }
}
