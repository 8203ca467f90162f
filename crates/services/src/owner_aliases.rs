//! Which page a numeric owner id was learned to be (`lantoa canon --json`): read-only, from a
//! database named by URL, outside any serving instance.

use std::collections::HashMap;

use lantoa_store::{Db, StoreError, submissions};

/// Why the learned owners could not be read, or not all of them.
#[derive(Debug, thiserror::Error)]
pub enum LearnedError {
    /// Opening a SQLite file that does not exist would create one: a mistyped path is said.
    #[error("no database at {0}")]
    NoDatabase(String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// The owners found (owner id → page slug, the post it was learned from), and what stopped
/// the lookup early, if anything: what was found before a failure is kept.
#[derive(Debug, Default)]
pub struct Learned {
    pub found: HashMap<String, (String, String)>,
    pub failure: Option<LearnedError>,
}

/// The page each of `owners` was learned to be, read from the database at `database_url`.
pub async fn learned_owners(database_url: &str, owners: &[String]) -> Learned {
    if let Some(path) = database_url
        .strip_prefix("sqlite://")
        .or_else(|| database_url.strip_prefix("sqlite:"))
    {
        let path = path.split('?').next().unwrap_or(path);
        if !std::path::Path::new(path).exists() {
            return failed(LearnedError::NoDatabase(path.to_string()));
        }
    }
    let db = match Db::connect(database_url).await {
        Ok(db) => db,
        Err(err) => return failed(err.into()),
    };
    let mut learned = Learned::default();
    if let Err(err) = read(&db, owners, &mut learned.found).await {
        learned.failure = Some(err.into());
    }
    db.close().await;
    learned
}

async fn read(
    db: &Db,
    owners: &[String],
    found: &mut HashMap<String, (String, String)>,
) -> Result<(), StoreError> {
    let mut conn = db.acquire().await?;
    for owner in owners {
        if let Some(alias) = submissions::owner_alias(&mut conn, owner).await? {
            found.insert(owner.clone(), alias);
        }
    }
    Ok(())
}

fn failed(failure: LearnedError) -> Learned {
    Learned {
        found: HashMap::new(),
        failure: Some(failure),
    }
}
