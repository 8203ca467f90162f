//! The values of the status columns, as types: a misspelt state is a compile error, not a
//! row no query finds. Each maps to the text the migrations' CHECK constraints allow.

macro_rules! column_enum {
    ($(#[$meta:meta])* $name:ident { $($(#[$vmeta:meta])* $variant:ident => $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl $name {
            pub const ALL: &'static [Self] = &[$(Self::$variant),+];

            /// The text stored in the column.
            pub const fn as_str(self) -> &'static str {
                match self { $(Self::$variant => $text),+ }
            }

            /// The value a stored text stands for.
            pub fn parse(text: &str) -> Option<Self> {
                match text { $($text => Some(Self::$variant),)+ _ => None }
            }
        }

        // Bound and read like the text they are stored as.
        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <String as sqlx::Type<sqlx::Any>>::type_info()
            }
            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <String as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <&str as sqlx::Encode<'q, sqlx::Any>>::encode_by_ref(&self.as_str(), buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(
                value: <sqlx::Any as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                let text = <&str as sqlx::Decode<'r, sqlx::Any>>::decode(value)?;
                Self::parse(text).ok_or_else(|| {
                    format!("{} has no value {text:?}", stringify!($name)).into()
                })
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

pub(crate) use column_enum;

column_enum!(
    /// `submissions.status`: what a stored link counts as.
    SubmissionStatus {
        /// Counted for its sender (and its page's unit).
        Counted => "counted",
        /// The sender had sent the same post before.
        Duplicate => "duplicate",
        /// Sent before the account was verified; counted if it is within the grace period.
        PendingRegistration => "pending_registration",
        /// Its article no longer exists, or an operator withdrew it.
        Withdrawn => "withdrawn",
        /// Sent before registering and never claimed in time.
        Expired => "expired",
        /// A short link that turned out to name a post counted already.
        Merged => "merged",
    }
);

column_enum!(
    /// `submissions.key_state`: whether the canonical key is the post's own.
    KeyState {
        Final => "final",
        /// A short link's key until it is resolved.
        Provisional => "provisional",
        /// A short link that could not be resolved (counted as sent).
        Unresolvable => "unresolvable",
    }
);

column_enum!(
    /// `outbox.state`: where a queued message stands.
    OutboxState {
        /// Due at `next_attempt_at`.
        Pending => "pending",
        /// Waiting for the person to write again (a closed messaging window).
        Held => "held",
        Sent => "sent",
        Failed => "failed",
    }
);

column_enum!(
    /// `featured_pages.source`: the scheduler's suggestion or the week's choice.
    PickSource {
        Suggested => "suggested",
        Chosen => "chosen",
    }
);

column_enum!(
    /// `job_runs.state`.
    JobState {
        Running => "running",
        Done => "done",
        Failed => "failed",
    }
);

column_enum!(
    /// `page_feed_posts.kind`: the page's own post, or its share of another's post.
    PostKind {
        Post => "post",
        Share => "share",
    }
);

column_enum!(
    /// `page_connections.error_kind`: why the last read of a page failed.
    PageErrorKind {
        /// The token is invalid, expired or revoked: someone must connect the page again.
        Token => "token",
        /// The token lacks a permission (named in the error).
        Permission => "permission",
        /// The Graph API asked us to slow down.
        RateLimit => "rate_limit",
        /// The Graph API or the network failed; tried again later.
        Unavailable => "unavailable",
        Other => "other",
    }
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_reads_back_as_itself() {
        for status in SubmissionStatus::ALL {
            assert_eq!(SubmissionStatus::parse(status.as_str()), Some(*status));
        }
        for state in KeyState::ALL {
            assert_eq!(KeyState::parse(state.as_str()), Some(*state));
        }
        for state in OutboxState::ALL {
            assert_eq!(OutboxState::parse(state.as_str()), Some(*state));
        }
        assert_eq!(PickSource::parse("chosen"), Some(PickSource::Chosen));
        assert_eq!(JobState::parse("done"), Some(JobState::Done));
        assert_eq!(SubmissionStatus::parse("Counted"), None);
    }
}
