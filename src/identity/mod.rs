//! Who is who: personal invite codes, registration by invite or by a head's approval, the
//! throttle on guessing, leaving the roster, the audit log, and a person's own data.
//!
//! A chat account counts for a roster person only once the link is proven: by a one-time
//! invite handed to that person, or by the head of the person's unit approving the request in
//! the chat. Head and admin roles come only with an invite.

pub mod approvals;
pub mod invite_code;
pub mod invites;
pub mod registration;
pub mod throttle;

pub use invite_code::InviteCode;
