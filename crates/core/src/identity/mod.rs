//! Who is who, the pure parts: the shape of invite codes and the throttle on guessing them.

pub mod invite_code;
pub mod throttle;

pub use invite_code::InviteCode;

use lantoa_domain::ids::UnitId;
use lantoa_domain::{Person, Role};

/// Whether `decider` may decide a registration request for a person of `unit_id`: a head of
/// that unit (linked through an invite) or an admin.
pub fn may_decide(decider: &Person, decider_unit_id: UnitId, unit_id: UnitId) -> bool {
    match decider.role {
        Role::Admin => true,
        Role::Head => decider_unit_id == unit_id,
        Role::Member => false,
    }
}
