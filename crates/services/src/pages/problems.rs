//! Connected pages whose last read needs a person (a token to renew, a permission to grant,
//! an answer to look into),
//! as `/readyz`, the Monday summary and the dashboard report them.

use serde::Serialize;

use lantoa_domain::status::PageErrorKind;
use lantoa_platforms::graph::{INSIGHTS_PERMISSION, READ_PERMISSION};
use lantoa_store::pages::Connection;
use lantoa_store::{Db, StoreError};

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub unit: String,
    pub code: String,
    /// Why, in Vietnamese, for the Văn phòng.
    pub reason: String,
    /// Why, in English, for operators (`/readyz`).
    pub error: String,
}

/// The problem of a connection, if it has one a person must fix.
pub fn problem(connection: &Connection) -> Option<Problem> {
    let error = connection.last_error.clone().unwrap_or_default();
    let reason = match connection.error_kind? {
        PageErrorKind::Token => "mã truy cập trang đã hết hạn hoặc bị thu hồi".to_string(),
        PageErrorKind::Permission => {
            let permission = [READ_PERMISSION, INSIGHTS_PERMISSION]
                .into_iter()
                .find(|name| error.contains(name))
                .unwrap_or(READ_PERMISSION);
            format!("mã truy cập trang thiếu quyền {permission}")
        }
        // An answer Lantoa cannot read (a changed API, a paging link elsewhere) is not retried
        // either: it must not leave a page unread without anyone knowing.
        PageErrorKind::Other => {
            "Facebook trả lời không đọc được, cán bộ kỹ thuật cần kiểm tra".to_string()
        }
        PageErrorKind::RateLimit | PageErrorKind::Unavailable => return None,
    };
    Some(Problem {
        unit: connection.unit_name.clone(),
        code: connection.unit_code.clone(),
        reason,
        error,
    })
}

pub async fn problems(db: &Db) -> Result<Vec<Problem>, StoreError> {
    Ok(lantoa_store::pages::connections(db)
        .await?
        .iter()
        .filter_map(problem)
        .collect())
}
