//! Finds the web addresses in a message as people paste them: with or without a scheme,
//! glued to punctuation, one per line or several per line.

/// Addresses in order of appearance, each once.
pub fn extract_urls(text: &str) -> Vec<String> {
    let mut urls: Vec<String> = Vec::new();
    for token in text.split(|c: char| c.is_whitespace() || c == '<' || c == '>' || c == '"') {
        let token = token.trim_start_matches(['(', '[', '{', '\'', '“', '‘']);
        let Some(start) = find_start(token) else {
            continue;
        };
        let candidate = token[start..].trim_end_matches(|c: char| {
            matches!(
                c,
                '.' | ',' | ';' | ':' | '!' | '?' | ')' | ']' | '}' | '\'' | '”' | '’' | '…'
            )
        });
        if is_address(candidate) && !urls.iter().any(|u| u == candidate) {
            urls.push(candidate.to_string());
        }
    }
    urls
}

/// Where an address starts in a token: at `http(s)://`, or at the token's start when it looks
/// like `host.tld/…`.
fn find_start(token: &str) -> Option<usize> {
    let lower = token.to_ascii_lowercase();
    if let Some(index) = lower.find("https://").or_else(|| lower.find("http://")) {
        return Some(index);
    }
    let host = token.split(['/', '?', '#']).next()?;
    let labels: Vec<&str> = host.split('.').collect();
    let tld = labels.last()?;
    let looks_like_host = labels.len() >= 2
        && labels.iter().all(|label| {
            !label.is_empty() && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        && tld.len() >= 2
        && tld.chars().all(|c| c.is_ascii_alphabetic());
    looks_like_host.then_some(0)
}

fn is_address(candidate: &str) -> bool {
    let rest = candidate
        .split_once("://")
        .map_or(candidate, |(_, rest)| rest);
    let host = rest.split(['/', '?', '#']).next().unwrap_or("");
    host.contains('.') && host.len() > 3
}

#[cfg(test)]
mod tests {
    use super::extract_urls;

    #[test]
    fn finds_addresses_however_they_are_pasted() {
        let text = "Bài của trường: https://www.facebook.com/thleloi/posts/123?mibextid=abc, \
                    và (fb.watch/abcd). Xem thêm m.facebook.com/story.php?story_fbid=1&id=2!\n\
                    https://youtu.be/xyz";
        assert_eq!(
            extract_urls(text),
            [
                "https://www.facebook.com/thleloi/posts/123?mibextid=abc",
                "fb.watch/abcd",
                "m.facebook.com/story.php?story_fbid=1&id=2",
                "https://youtu.be/xyz",
            ]
        );
    }

    #[test]
    fn ignores_words_numbers_and_repeats() {
        assert!(extract_urls("DK GV0001").is_empty());
        assert!(extract_urls("điểm 9.5 tuần này, v.v.").is_empty());
        assert_eq!(extract_urls("x.com/a x.com/a").len(), 1);
        assert_eq!(extract_urls("link:https://a.vn/b").len(), 1);
    }
}
