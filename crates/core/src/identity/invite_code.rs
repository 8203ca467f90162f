//! Personal invite codes: ten characters from an alphabet without the look-alikes 0/O, 1/I/L
//! (31 symbols, 49.5 bits), shown as `ABCDE-FGHJK`, accepted in any case and with or without
//! the grouping. Only a hash of a code is stored.

use std::fmt;

use sha2::{Digest, Sha256};

pub const ALPHABET: &[u8; 31] = b"ABCDEFGHJKMNPQRSTUVWXYZ23456789";
pub const LENGTH: usize = 10;

/// A well-formed invite code, normalized to upper case without separators.
#[derive(Clone, PartialEq, Eq)]
pub struct InviteCode(String);

impl fmt::Debug for InviteCode {
    // A code is a credential: keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("InviteCode([redacted])")
    }
}

impl InviteCode {
    /// A new random code from the operating system's random source.
    pub fn generate() -> Self {
        let mut code = String::with_capacity(LENGTH);
        let mut bytes = [0u8; 32];
        while code.len() < LENGTH {
            getrandom::getrandom(&mut bytes).expect("the operating system's random source works");
            // Rejection sampling: 248 = 8 × 31, so every symbol is equally likely.
            for byte in bytes.iter().filter(|b| **b < 248) {
                if code.len() == LENGTH {
                    break;
                }
                code.push(ALPHABET[usize::from(*byte) % ALPHABET.len()] as char);
            }
        }
        Self(code)
    }

    /// Reads what someone typed: case-insensitive, spaces and `-` ignored. `None` when it
    /// cannot be an invite code (then it may still be a roster code).
    pub fn parse(typed: &str) -> Option<Self> {
        let normalized: String = typed
            .chars()
            .filter(|c| !matches!(c, '-' | ' ' | '_' | '.'))
            .map(|c| c.to_ascii_uppercase())
            .collect();
        (normalized.len() == LENGTH && normalized.bytes().all(|b| ALPHABET.contains(&b)))
            .then_some(Self(normalized))
    }

    /// `ABCDE-FGHJK`, as printed on the sheet.
    pub fn grouped(&self) -> String {
        format!("{}-{}", &self.0[..5], &self.0[5..])
    }

    /// What is stored and looked up.
    pub fn hash(&self) -> String {
        let mut hasher = Sha256::new();
        hasher.update(b"lantoa-invite-v1:");
        hasher.update(self.0.as_bytes());
        hex::encode(hasher.finalize())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_codes_use_the_alphabet_and_differ() {
        let codes: std::collections::HashSet<String> =
            (0..2_000).map(|_| InviteCode::generate().0).collect();
        assert_eq!(codes.len(), 2_000);
        for code in &codes {
            assert_eq!(code.len(), LENGTH);
            assert!(!code.contains(['0', 'O', '1', 'I', 'L']), "{code}");
        }
        // Every symbol shows up: the sampling covers the whole alphabet.
        let used: std::collections::HashSet<char> = codes.iter().flat_map(|c| c.chars()).collect();
        assert_eq!(used.len(), ALPHABET.len());
    }

    #[test]
    fn typed_in_any_case_with_or_without_grouping() {
        let code = InviteCode::generate();
        let grouped = code.grouped();
        assert_eq!(grouped.len(), LENGTH + 1);
        for typed in [
            grouped.clone(),
            grouped.to_lowercase(),
            grouped.replace('-', ""),
            grouped.replace('-', " "),
            format!(" {} ", grouped.to_lowercase()),
        ] {
            assert_eq!(InviteCode::parse(&typed), Some(code.clone()), "{typed}");
        }
        assert_eq!(InviteCode::parse("GV0001"), None);
        assert_eq!(
            InviteCode::parse("ABCDE-FGHJ0"),
            None,
            "0 is not in the alphabet"
        );
        assert_eq!(InviteCode::parse("ABCDE-FGHJKM"), None, "too long");
    }

    #[test]
    fn the_hash_is_stable_and_hides_the_code() {
        let code = InviteCode::parse("abcde-fghjk").unwrap();
        assert_eq!(code.hash(), InviteCode::parse("ABCDEFGHJK").unwrap().hash());
        assert_eq!(code.hash().len(), 64);
        assert!(!code.hash().contains("ABCDE"));
        assert_eq!(format!("{code:?}"), "InviteCode([redacted])");
    }
}
