//! Queries of the conversation tables: identities and the roster look-ups the engine's facts
//! come from.

use super::Result;
use sqlx::AnyConnection;

use lantoa_domain::Platform;
use lantoa_domain::ids::{IdentityId, StaffId};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Identity {
    pub id: IdentityId,
    pub staff_id: Option<StaffId>,
    pub reachable: bool,
    /// Messages are held for this person until they write again.
    pub has_held: bool,
}

/// The identity of a platform account, created on its first event.
pub async fn ensure_identity(
    conn: &mut AnyConnection,
    platform: Platform,
    user_id: &str,
    now: i64,
) -> Result<Identity> {
    let select = "SELECT id, staff_id, reachable, has_held FROM identities \
                  WHERE platform = $1 AND platform_user_id = $2";
    type Row = (IdentityId, Option<StaffId>, i64, i64);
    let found: Option<Row> = sqlx::query_as(select)
        .bind(platform.as_str())
        .bind(user_id)
        .fetch_optional(&mut *conn)
        .await?;
    let (id, staff_id, reachable, has_held) = match found {
        Some(row) => row,
        None => {
            sqlx::query(
                "INSERT INTO identities (platform, platform_user_id, created_at, updated_at) \
                 VALUES ($1, $2, $3, $3) ON CONFLICT (platform, platform_user_id) DO NOTHING",
            )
            .bind(platform.as_str())
            .bind(user_id)
            .bind(now)
            .execute(&mut *conn)
            .await?;
            sqlx::query_as(select)
                .bind(platform.as_str())
                .bind(user_id)
                .fetch_one(&mut *conn)
                .await?
        }
    };
    Ok(Identity {
        id,
        staff_id,
        reachable: reachable != 0,
        has_held: has_held != 0,
    })
}

/// What an event tells about its account.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Touch {
    /// The person wrote: the messaging window opens (or stays open).
    Inbound,
    /// A receipt or echo: seen, but the window does not move.
    Seen,
    Nothing,
}

/// The account of an event, updated for it, in one statement when it exists already (the
/// common case on the processor's hot path).
pub async fn touch_identity(
    conn: &mut AnyConnection,
    platform: Platform,
    user_id: &str,
    touch: Touch,
    at: i64,
    now: i64,
) -> Result<Identity> {
    let set = match touch {
        Touch::Inbound => {
            "last_inbound_at = CASE WHEN last_inbound_at IS NULL OR last_inbound_at < $1 THEN $1 \
             ELSE last_inbound_at END, last_seen_at = $1, reachable = 1, updated_at = $1"
        }
        Touch::Seen => "last_seen_at = $1, updated_at = $1",
        Touch::Nothing => return ensure_identity(conn, platform, user_id, now).await,
    };
    let sql = format!(
        "UPDATE identities SET {set} WHERE platform = $2 AND platform_user_id = $3 \
         RETURNING id, staff_id, reachable, has_held"
    );
    type Row = (IdentityId, Option<StaffId>, i64, i64);
    let update = || {
        sqlx::query_as::<_, Row>(&sql)
            .bind(at)
            .bind(platform.as_str())
            .bind(user_id)
    };
    let updated = match update().fetch_optional(&mut *conn).await? {
        Some(row) => row,
        None => {
            // A first event from this account: created with the touch applied, in one
            // statement (a link from a new sender is the common case on a campaign's first day).
            let (inbound, seen) = match touch {
                Touch::Inbound => (Some(at), Some(at)),
                _ => (None, Some(at)),
            };
            let inserted: Option<Row> = sqlx::query_as(
                "INSERT INTO identities (platform, platform_user_id, last_inbound_at, last_seen_at, \
                 created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $5) \
                 ON CONFLICT (platform, platform_user_id) DO NOTHING \
                 RETURNING id, staff_id, reachable, has_held",
            )
            .bind(platform.as_str())
            .bind(user_id)
            .bind(inbound)
            .bind(seen)
            .bind(now)
            .fetch_optional(&mut *conn)
            .await?;
            match inserted {
                Some(row) => row,
                // Created meanwhile by another instance: touch it now.
                None => update().fetch_one(&mut *conn).await?,
            }
        }
    };
    let (id, staff_id, reachable, has_held) = updated;
    Ok(Identity {
        id,
        staff_id,
        reachable: reachable != 0,
        has_held: has_held != 0,
    })
}

pub async fn set_following(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
    following: bool,
    now: i64,
) -> Result<()> {
    sqlx::query(
        "UPDATE identities SET followed = $1, reachable = $1, updated_at = $2 WHERE id = $3",
    )
    .bind(i64::from(following))
    .bind(now)
    .bind(identity_id)
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// The person an account is linked to, if any.
pub async fn staff_of_identity(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
) -> Result<Option<StaffId>> {
    Ok(
        sqlx::query_scalar::<_, Option<StaffId>>("SELECT staff_id FROM identities WHERE id = $1")
            .bind(identity_id)
            .fetch_optional(&mut *conn)
            .await?
            .flatten(),
    )
}

/// The stored body of one event (an edited message's original), if it is still kept.
pub async fn event_payload(
    conn: &mut AnyConnection,
    platform: &str,
    dedup_key: &str,
) -> Result<Option<String>> {
    Ok(sqlx::query_scalar(
        "SELECT payload FROM inbox_events WHERE platform = $1 AND dedup_key = $2",
    )
    .bind(platform)
    .bind(dedup_key)
    .fetch_optional(&mut *conn)
    .await?)
}

/// The platform and the platform's id of an account.
pub async fn account_address(
    conn: &mut AnyConnection,
    identity_id: IdentityId,
) -> Result<Option<(String, String)>> {
    Ok(
        sqlx::query_as("SELECT platform, platform_user_id FROM identities WHERE id = $1")
            .bind(identity_id)
            .fetch_optional(&mut *conn)
            .await?,
    )
}
