//! Splits a long text into messages the platform accepts, between lines or words, never
//! inside a word or a link.

/// Parts of at most `limit` characters. A single word longer than `limit` (a monstrous URL)
/// is the only thing ever cut.
pub fn split_message(text: &str, limit: usize) -> Vec<String> {
    let text = text.trim();
    if text.chars().count() <= limit {
        return vec![text.to_string()];
    }
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut current_len = 0;
    for line in text.lines() {
        let line_len = line.chars().count();
        let joined_len = current_len + usize::from(current_len > 0) + line_len;
        if joined_len <= limit {
            if current_len > 0 {
                current.push('\n');
            }
            current.push_str(line);
            current_len = joined_len;
            continue;
        }
        if current_len > 0 {
            parts.push(std::mem::take(&mut current));
            current_len = 0;
        }
        if line_len <= limit {
            current.push_str(line);
            current_len = line_len;
            continue;
        }
        // A line too long for one message: break it between words.
        for word in line.split(' ') {
            let word_len = word.chars().count();
            if current_len > 0 && current_len + 1 + word_len <= limit {
                current.push(' ');
                current.push_str(word);
                current_len += 1 + word_len;
                continue;
            }
            if current_len > 0 {
                parts.push(std::mem::take(&mut current));
            }
            let mut rest: Vec<char> = word.chars().collect();
            while rest.len() > limit {
                parts.push(rest.drain(..limit).collect());
            }
            current = rest.iter().collect();
            current_len = rest.len();
        }
    }
    if current_len > 0 {
        parts.push(current);
    }
    parts.retain(|part| !part.trim().is_empty());
    parts
}

#[cfg(test)]
mod tests {
    use super::split_message;

    #[test]
    fn short_texts_stay_whole() {
        assert_eq!(split_message("Chào thầy/cô", 2000), ["Chào thầy/cô"]);
    }

    #[test]
    fn splits_between_lines_and_keeps_links_whole() {
        let line = |i: usize| {
            format!("{i}. Trường Tiểu học số {i}: https://www.facebook.com/truong{i}/posts/{i}")
        };
        let text: Vec<String> = (0..100).map(line).collect();
        let text = text.join("\n");
        let parts = split_message(&text, 500);
        assert!(parts.len() > 1);
        for part in &parts {
            assert!(part.chars().count() <= 500);
            for piece in part.lines() {
                assert!(
                    piece.ends_with(&format!("/posts/{}", piece.split('.').next().unwrap())),
                    "{piece}"
                );
            }
        }
        assert_eq!(parts.join("\n"), text, "nothing lost or reordered");
    }

    #[test]
    fn a_long_line_breaks_between_words() {
        let text = "lời nhắn ".repeat(50);
        let parts = split_message(&text, 40);
        assert!(
            parts
                .iter()
                .all(|p| p.chars().count() <= 40 && !p.starts_with(' '))
        );
        assert!(
            parts
                .iter()
                .all(|p| p.split(' ').all(|w| w == "lời" || w == "nhắn"))
        );
    }
}
