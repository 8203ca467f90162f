//! `lantoa canon URL…`: the canonical key of each URL, or why it has none.

use std::collections::HashMap;

use lantoa_core::links::canonicalize;

pub async fn canon(urls: &[String], json: bool) -> anyhow::Result<()> {
    // Pure: needs neither configuration nor database; with `--json` and a DATABASE_URL it
    // also says which page a numeric owner id was learned to be.
    let aliases = match (std::env::var("DATABASE_URL"), json) {
        (Ok(url), true) => learned_aliases(&url, urls).await,
        _ => HashMap::new(),
    };
    for line in canon_lines(urls, json, &aliases) {
        println!("{line}");
    }
    Ok(())
}

/// Owner id → (page slug, the post it was learned from), for the owners of `urls`.
async fn learned_aliases(database_url: &str, urls: &[String]) -> HashMap<String, (String, String)> {
    let owners: Vec<String> = urls
        .iter()
        .filter_map(|url| canonicalize(url).ok()?.owner)
        .collect();
    let learned = lantoa_services::owner_aliases::learned_owners(database_url, &owners).await;
    if let Some(err) = learned.failure {
        eprintln!("warning: owner aliases not all shown: {err}");
    }
    learned.found
}

fn canon_lines(
    urls: &[String],
    json: bool,
    aliases: &HashMap<String, (String, String)>,
) -> Vec<String> {
    urls.iter()
        .map(|url| match (canonicalize(url), json) {
            (Ok(canonical), false) => canonical.key,
            (Ok(canonical), true) => {
                let mut line = serde_json::json!({"url": url, "canonical": canonical});
                if let Some((owner, learned_from)) =
                    canonical.owner.as_ref().and_then(|o| aliases.get(o))
                {
                    line["owner_alias"] = serde_json::json!({
                        "page_id": canonical.owner, "owner": owner, "learned_from": learned_from,
                    });
                }
                line.to_string()
            }
            (Err(err), false) => format!("error: {err}"),
            (Err(err), true) => {
                serde_json::json!({"url": url, "error": err.to_string()}).to_string()
            }
        })
        .collect()
}
