//! Cleaning text that comes from outside: platform ids, message texts, URLs and anything a
//! reply echoes back. PostgreSQL refuses NUL in text; control and bidirectional-override
//! characters can hide or reorder what a reply shows. Pure functions.

use std::borrow::Cow;

use unicode_normalization::UnicodeNormalization;

/// Unicode's bidirectional formatting characters (UAX #9): embeddings, overrides, isolates
/// and the invisible marks.
fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{061C}' | '\u{200E}' | '\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

fn is_unwanted(c: char, keep_lines: bool) -> bool {
    if keep_lines && matches!(c, '\n' | '\t') {
        return false;
    }
    c.is_control() || is_bidi_control(c)
}

/// A message text: control characters (NUL included) and bidi controls removed; line breaks
/// and tabs kept. `\r\n` becomes `\n`.
pub fn clean_text(text: &str) -> Cow<'_, str> {
    if !text.chars().any(|c| is_unwanted(c, true)) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(text.chars().filter(|c| !is_unwanted(*c, true)).collect())
}

/// An identifier (a platform user id, a message id, an event name): every control and bidi
/// character removed, surrounding whitespace trimmed.
pub fn clean_id(text: &str) -> Cow<'_, str> {
    let trimmed = text.trim();
    if !trimmed.chars().any(|c| is_unwanted(c, false)) {
        return Cow::Borrowed(trimmed);
    }
    Cow::Owned(
        trimmed
            .chars()
            .filter(|c| !is_unwanted(*c, false))
            .collect::<String>()
            .trim()
            .to_string(),
    )
}

/// Text folded for matching: without diacritics (`đ` as `d`), lower case. Vietnamese
/// commands, names and searches compare folded (`hoa an` finds *Hòa An*).
pub fn fold(text: &str) -> String {
    text.nfd()
        .filter(|c| !unicode_normalization::char::is_combining_mark(*c))
        .map(|c| match c {
            'đ' | 'Đ' => 'd',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

/// Longest piece of someone's input a reply repeats.
pub const MAX_ECHO_CHARS: usize = 200;

/// A value a reply echoes: on one line, without control or bidi characters, at most
/// [`MAX_ECHO_CHARS`] characters (longer ones end in `…`).
pub fn for_echo(text: &str) -> String {
    let mut out = String::with_capacity(text.len().min(MAX_ECHO_CHARS * 4));
    let mut count = 0;
    for c in text.chars() {
        let c = if matches!(c, '\n' | '\t') { ' ' } else { c };
        if is_unwanted(c, false) {
            continue;
        }
        if count == MAX_ECHO_CHARS {
            out.push('…');
            return out;
        }
        out.push(c);
        count += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_and_controls_go_lines_stay() {
        assert_eq!(clean_text("a\u{0}b\u{7}c\nd\te"), "abc\nd\te");
        assert_eq!(clean_text("dòng 1\r\ndòng 2"), "dòng 1\ndòng 2");
        assert!(matches!(clean_text("bình thường"), Cow::Borrowed(_)));
        assert_eq!(clean_text("x\u{202E}gnp.exe"), "xgnp.exe");
    }

    #[test]
    fn ids_lose_every_control_and_surrounding_space() {
        assert_eq!(clean_id(" 12\u{0}34\n "), "1234");
        assert_eq!(clean_id("\u{2066}u1\u{2069}"), "u1");
        assert!(matches!(clean_id("246845883529197922"), Cow::Borrowed(_)));
    }

    #[test]
    fn folding_drops_diacritics_and_case() {
        assert_eq!(fold("Đăng Ký"), "dang ky");
        assert_eq!(fold("Hòa An"), "hoa an");
        assert_eq!(fold("PHẢN ÁNH"), "phan anh");
    }

    #[test]
    fn echoes_are_one_short_clean_line() {
        assert_eq!(for_echo("a\nb\u{0}c\u{200F}"), "a bc");
        let long = "x".repeat(10_000);
        let echoed = for_echo(&long);
        assert_eq!(echoed.chars().count(), MAX_ECHO_CHARS + 1);
        assert!(echoed.ends_with('…'));
        assert_eq!(for_echo("Nguyễn Thị Lan"), "Nguyễn Thị Lan");
    }
}

/// A cell for a CSV a spreadsheet will open: text starting with `=`, `+`, `-`, `@`, a tab or
/// a carriage return is prefixed with `'`, so it shows as text instead of running as a
/// formula (OWASP's CSV injection rule). Other text is unchanged.
pub fn spreadsheet_safe(cell: &str) -> Cow<'_, str> {
    match cell.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => Cow::Owned(format!("'{cell}")),
        _ => Cow::Borrowed(cell),
    }
}

#[cfg(test)]
mod spreadsheet_tests {
    use super::spreadsheet_safe;

    #[test]
    fn formula_like_cells_become_text() {
        for cell in ["=1+1", "+84912", "-2", "@SUM(A1)", "\tx", "\rx"] {
            assert_eq!(spreadsheet_safe(cell), format!("'{cell}"));
        }
        assert_eq!(spreadsheet_safe("Nguyễn Văn A"), "Nguyễn Văn A");
        assert_eq!(spreadsheet_safe(""), "");
        assert_eq!(spreadsheet_safe("a=b"), "a=b");
    }
}
