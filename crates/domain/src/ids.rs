//! Typed ids: the row id of each table as its own type, so that a staff id can never be
//! passed where a unit id belongs (vaultwarden's `UserId`, lldap's `UserId`). Each binds and
//! decodes as the `BIGINT` it is stored as, on both engines.

use std::fmt;

macro_rules! row_id {
    ($($(#[$meta:meta])* $name:ident),+ $(,)?) => {$(
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub i64);

        impl $name {
            /// The stored integer (for a log line, a form field, an idempotency key).
            pub const fn get(self) -> i64 {
                self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                self.0.fmt(f)
            }
        }

        impl From<i64> for $name {
            fn from(id: i64) -> Self {
                Self(id)
            }
        }

        impl sqlx::Type<sqlx::Any> for $name {
            fn type_info() -> sqlx::any::AnyTypeInfo {
                <i64 as sqlx::Type<sqlx::Any>>::type_info()
            }
            fn compatible(ty: &sqlx::any::AnyTypeInfo) -> bool {
                <i64 as sqlx::Type<sqlx::Any>>::compatible(ty)
            }
        }

        impl<'q> sqlx::Encode<'q, sqlx::Any> for $name {
            fn encode_by_ref(
                &self,
                buf: &mut <sqlx::Any as sqlx::Database>::ArgumentBuffer<'q>,
            ) -> Result<sqlx::encode::IsNull, sqlx::error::BoxDynError> {
                <i64 as sqlx::Encode<'q, sqlx::Any>>::encode_by_ref(&self.0, buf)
            }
        }

        impl<'r> sqlx::Decode<'r, sqlx::Any> for $name {
            fn decode(
                value: <sqlx::Any as sqlx::Database>::ValueRef<'r>,
            ) -> Result<Self, sqlx::error::BoxDynError> {
                <i64 as sqlx::Decode<'r, sqlx::Any>>::decode(value).map(Self)
            }
        }
    )+};
}

row_id!(
    /// `units.id`: the Sở, a Phòng, a school.
    UnitId,
    /// `staff.id`: a person on the roster.
    StaffId,
    /// `identities.id`: one chat account (a Zalo user or a Messenger PSID).
    IdentityId,
    /// `submissions.id`: one link a person sent.
    SubmissionId,
    /// `outbox.id`: one queued message.
    OutboxId,
    /// `inbox_events.id`: one stored webhook event.
    EventId,
    /// `invites.id`: one personal registration code.
    InviteId,
    /// `registration_requests.id`: a request a head approves or refuses.
    RequestId,
    /// `web_sessions.id`: a dashboard session.
    SessionId,
    /// `web_uploads.id`: a roster file uploaded in the dashboard.
    UploadId,
    /// `page_feed_posts.id`: a post read from a connected page.
    FeedPostId,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_print_and_serialize_as_their_number() {
        let id = StaffId(42);
        assert_eq!(id.to_string(), "42");
        assert_eq!(id.get(), 42);
        assert_eq!(serde_json::to_string(&id).unwrap(), "42");
        assert_eq!(serde_json::from_str::<StaffId>("7").unwrap(), StaffId(7));
    }
}
