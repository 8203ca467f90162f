//! The bottom floor of Lantoa: typed ids, the nouns every other floor shares (people and
//! their accounts, units and scopes, platforms and events, weeks and ranges, links, the
//! standings' inputs, a roster import's plan), the status enums stored in columns, the clock
//! and the cleaning of outside text. It imports no other Lantoa crate.

pub mod calendar;
pub mod clock;
pub mod ids;
pub mod links;
pub mod org;
pub mod platform;
pub mod reach;
pub mod roster;
pub mod standings;
pub mod status;
pub mod text;

pub use calendar::{IsoWeek, Range, WeekRange};
pub use clock::Clock;
pub use ids::{
    EventId, FeedPostId, IdentityId, InviteId, OutboxId, RequestId, SessionId, StaffId,
    SubmissionId, UnitId, UploadId,
};
pub use org::{Account, Person, ReachableAccount, Role, Scope, UnitKind, Units, Viewer};
pub use platform::{EventKind, InboundEvent, MessageContent, Platform, SharedInfo};
pub use reach::{MessageKind, Rung};
