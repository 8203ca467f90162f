//! Who is who, the pure parts: the shape of invite codes and the throttle on guessing them.

pub mod invite_code;
pub mod throttle;

pub use invite_code::InviteCode;
