//! Table-driven test of `lantoa_core::links::canonicalize` against `tests/data/url_corpus.tsv`, the
//! executable form of `docs/canonical-keys.md`, plus a fuzz-style property test that mutates the
//! corpus URLs with a fixed-seed xorshift generator (no extra crates).
//!
//! Every check collects all of its mismatches before failing, one per line, so a single run
//! shows everything that disagrees with the corpus.

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::panic::{self, AssertUnwindSafe};
use std::sync::Once;

use lantoa_core::links::{Canonical, canonicalize};

const CORPUS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/url_corpus.tsv");
const MIN_LINES: usize = 200;
/// Groups with these prefixes may share keys with other groups.
const EXEMPT_PREFIXES: [&str; 3] = ["page-", "other-", "error-"];

struct Case {
    line: usize,
    group: String,
    url: String,
    key: String,
    kind: String,
    owner: String,
}

fn load_corpus() -> Vec<Case> {
    let text =
        std::fs::read_to_string(CORPUS).unwrap_or_else(|e| panic!("cannot read {CORPUS}: {e}"));
    let mut cases = Vec::new();
    let mut malformed = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = raw.strip_suffix('\r').unwrap_or(raw);
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        if fields.len() != 5 || fields[0].is_empty() || fields[2].is_empty() {
            malformed.push(format!(
                "line {}: expected 5 tab-separated fields: {line:?}",
                index + 1
            ));
            continue;
        }
        cases.push(Case {
            line: index + 1,
            group: fields[0].to_string(),
            // Taken verbatim: leading spaces and quotes are part of what is tested.
            url: fields[1].to_string(),
            key: fields[2].to_string(),
            kind: fields[3].to_string(),
            owner: fields[4].to_string(),
        });
    }
    assert!(
        malformed.is_empty(),
        "malformed corpus lines:\n{}",
        malformed.join("\n")
    );
    cases
}

fn is_exempt(group: &str) -> bool {
    EXEMPT_PREFIXES
        .iter()
        .any(|prefix| group.starts_with(prefix))
}

/// `expected` ending in `*` is a prefix match (used where the spec leaves the form open).
fn key_matches(expected: &str, actual: &str) -> bool {
    match expected.strip_suffix('*') {
        Some(prefix) => actual.starts_with(prefix),
        None => expected == actual,
    }
}

fn field_matches(expected: &str, actual: &str) -> bool {
    expected == "*" || expected == actual
}

fn owner_str(c: &Canonical) -> &str {
    c.owner.as_deref().unwrap_or("-")
}

fn describe(c: &Canonical) -> String {
    format!(
        "{} (platform {}, kind {}, owner {}, needs_resolution {})",
        c.key,
        c.platform.as_str(),
        c.kind.as_str(),
        owner_str(c),
        c.needs_resolution
    )
}

/// The platform the spec implies for a key, where it is unambiguous.
fn expected_platform(key: &str) -> Option<&'static str> {
    if key.starts_with("fb:") {
        return Some("facebook");
    }
    if key.starts_with("yt:") {
        return Some("youtube");
    }
    if key.starts_with("tt:") {
        return Some("tiktok");
    }
    if key.starts_with("ig:") {
        return Some("instagram");
    }
    if key.starts_with("zalo:") {
        return Some("zalo");
    }
    if let Some(rest) = key.strip_prefix("web:") {
        let host = rest.split(['/', '?', ':']).next().unwrap_or("");
        return Some(if host == "zalo.me" || host == "oa.zalo.me" {
            "zalo"
        } else {
            "web"
        });
    }
    if let Some(rest) = key.strip_prefix("short:") {
        let host = rest.split('/').next().unwrap_or("");
        return match host {
            "facebook.com" | "fb.watch" | "fb.me" => Some("facebook"),
            "vt.tiktok.com" | "vm.tiktok.com" | "tiktok.com" => Some("tiktok"),
            _ => None,
        };
    }
    None
}

/// Compares one result with its corpus line; returns the mismatches.
fn check_case(
    case: &Case,
    result: &Result<Canonical, lantoa_core::links::CanonError>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let url = &case.url;
    let line = case.line;
    match (case.key.as_str(), result) {
        ("error", Ok(c)) => problems.push(format!(
            "line {line}: {url:?}: expected error got {}",
            describe(c)
        )),
        ("error", Err(_)) => {}
        (expected, Err(e)) => problems.push(format!(
            "line {line}: {url:?}: expected {expected} got error `{e}`"
        )),
        (expected, Ok(c)) => {
            if !key_matches(expected, &c.key) {
                problems.push(format!(
                    "line {line}: {url:?}: expected key {expected} got {}",
                    c.key
                ));
            }
            if !field_matches(&case.kind, c.kind.as_str()) {
                problems.push(format!(
                    "line {line}: {url:?}: expected kind {} got {} (key {})",
                    case.kind,
                    c.kind.as_str(),
                    c.key
                ));
            }
            if !field_matches(&case.owner, owner_str(c)) {
                problems.push(format!(
                    "line {line}: {url:?}: expected owner {} got {} (key {})",
                    case.owner,
                    owner_str(c),
                    c.key
                ));
            }
            // Spec: `short` is a short link not yet resolved, and needs resolution.
            if case.kind != "*" && (case.kind == "short") != c.needs_resolution {
                problems.push(format!(
                    "line {line}: {url:?}: expected needs_resolution {} got {} (key {})",
                    case.kind == "short",
                    c.needs_resolution,
                    c.key
                ));
            }
            if let Some(platform) = expected_platform(expected)
                && platform != c.platform.as_str()
            {
                problems.push(format!(
                    "line {line}: {url:?}: expected platform {platform} got {} (key {})",
                    c.platform.as_str(),
                    c.key
                ));
            }
        }
    }
    problems
}

/// (e) Canonicalizing twice gives the same result; a `web:` key, read back as an https URL,
/// gives the same key.
fn check_idempotent(
    url: &str,
    first: &Result<Canonical, lantoa_core::links::CanonError>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let second = canonicalize(url);
    match (first, &second) {
        (Ok(a), Ok(b)) if a == b => {}
        (Err(_), Err(_)) => {}
        _ => problems.push(format!(
            "{url:?}: not deterministic: expected {:?} got {:?}",
            first, second
        )),
    }
    if let Ok(c) = first
        && let Some(rest) = c.key.strip_prefix("web:")
    {
        let again = format!("https://{rest}");
        match canonicalize(&again) {
            Ok(d) if d.key == c.key => {}
            Ok(d) => problems.push(format!(
                "{url:?}: key not idempotent: {again:?}: expected {} got {}",
                c.key, d.key
            )),
            Err(e) => problems.push(format!(
                "{url:?}: key not idempotent: {again:?}: expected {} got error `{e}`",
                c.key
            )),
        }
    }
    problems
}

fn fail_if_any(what: &str, problems: &[String]) {
    if !problems.is_empty() {
        let mut report = format!("{} {what}:\n", problems.len());
        for p in problems {
            report.push_str(p);
            report.push('\n');
        }
        panic!("{report}");
    }
}

#[test]
fn corpus_is_large_enough_and_well_formed() {
    let cases = load_corpus();
    assert!(
        cases.len() >= MIN_LINES,
        "the corpus has {} URL lines, fewer than {MIN_LINES}",
        cases.len()
    );
    // An equivalence group must carry one expected key in the data itself.
    let mut problems = Vec::new();
    let mut expected_by_group: BTreeMap<&str, &str> = BTreeMap::new();
    for case in &cases {
        let previous = expected_by_group.entry(&case.group).or_insert(&case.key);
        if *previous != case.key {
            problems.push(format!(
                "line {}: group {} expects {} but an earlier line expects {previous}",
                case.line, case.group, case.key
            ));
        }
        if case.key == "error" && case.kind != "-" {
            problems.push(format!(
                "line {}: an error line has kind {}",
                case.line, case.kind
            ));
        }
    }
    fail_if_any("corpus data problems", &problems);
}

#[test]
fn every_corpus_url_has_its_expected_key_kind_and_owner() {
    let cases = load_corpus();
    let mut problems = Vec::new();
    for case in &cases {
        let result = canonicalize(&case.url);
        problems.extend(check_case(case, &result));
    }
    fail_if_any("corpus mismatches", &problems);
}

#[test]
fn equivalence_groups_collapse_and_distinct_groups_never_collide() {
    let cases = load_corpus();
    let mut problems = Vec::new();
    // (b) group → actual keys (with one sample URL each)
    let mut keys_by_group: BTreeMap<&str, BTreeMap<String, &str>> = BTreeMap::new();
    for case in &cases {
        if case.key == "error" {
            continue;
        }
        if let Ok(c) = canonicalize(&case.url) {
            keys_by_group
                .entry(&case.group)
                .or_default()
                .entry(c.key)
                .or_insert(&case.url);
        }
    }
    for (group, keys) in &keys_by_group {
        if keys.len() > 1 {
            let listed: Vec<String> = keys
                .iter()
                .map(|(key, url)| format!("{key} (from {url:?})"))
                .collect();
            problems.push(format!(
                "group {group}: one post, {} keys: {}",
                keys.len(),
                listed.join(" | ")
            ));
        }
    }
    // (c) no key shared by two non-exempt groups
    let mut groups_by_key: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for (group, keys) in &keys_by_group {
        if is_exempt(group) {
            continue;
        }
        for key in keys.keys() {
            groups_by_key.entry(key).or_default().insert(group);
        }
    }
    for (key, groups) in &groups_by_key {
        if groups.len() > 1 {
            let listed: Vec<&str> = groups.iter().copied().collect();
            problems.push(format!(
                "key {key} shared by different posts: {}",
                listed.join(", ")
            ));
        }
    }
    fail_if_any("grouping problems", &problems);
}

#[test]
fn canonicalize_is_deterministic_and_web_keys_are_idempotent() {
    let cases = load_corpus();
    let mut problems = Vec::new();
    for case in &cases {
        let first = canonicalize(&case.url);
        problems.extend(check_idempotent(&case.url, &first));
    }
    fail_if_any("idempotence problems", &problems);
}

// ---------------------------------------------------------------- property test

/// xorshift64* — deterministic, fixed seed, no crates.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

const MUTATION_CHARS: &[char] = &[
    '%', '?', '&', '#', '/', ':', '@', ' ', '.', '=', '[', ']', '\\', '\t', '\n', '"', '<', '>',
    '\'', '-', '_', '~', '+', ',', ';', '!', '*', '(', ')', '0', '9', 'A', 'f', 'Z', 'x', 'ư', 'ờ',
    'á', 'Ạ', 'đ', 'Đ', 'ñ', 'ß', 'İ', 'ﬁ', '中', '한', '😀', '\u{0}', '\u{200B}', '\u{FEFF}',
    '\u{301}', '\u{3002}', '\u{FF0E}', '\u{FFFD}', '\u{7F}',
];

/// Fragments that make the mutants reach deeper branches (escapes, ports, wrappers).
const MUTATION_FRAGMENTS: &[&str] = &[
    "%",
    "%2",
    "%zz",
    "%25",
    "%00",
    "%C3%A1",
    "%c3",
    "%E1%BB",
    "%2F",
    "%3F",
    "%23",
    ":",
    ":0",
    ":443",
    ":99999",
    "@",
    "//",
    "/../",
    "/./",
    "..",
    "?u=",
    "&q=",
    "l.php?u=https%3A%2F%2F",
    "xn--",
    "xn--zz",
    "www.",
    "m.",
    "@@",
    "?v=",
    "posts/",
    "pfbid",
    "https://",
    "[::1]",
    "…",
];

thread_local! {
    static QUIET_PANICS: Cell<bool> = const { Cell::new(false) };
}

/// Panics inside the property loop are caught and reported together; keep them off stderr
/// without hiding other tests' panic messages.
fn install_quiet_hook() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let previous = panic::take_hook();
        panic::set_hook(Box::new(move |info| {
            if !QUIET_PANICS.with(Cell::get) {
                previous(info);
            }
        }));
    });
}

fn mutate(rng: &mut XorShift, seed: &str) -> String {
    let mut chars: Vec<char> = seed.chars().collect();
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let at = if chars.is_empty() {
            0
        } else {
            rng.below(chars.len() + 1)
        };
        match rng.below(5) {
            0 => chars.insert(at, MUTATION_CHARS[rng.below(MUTATION_CHARS.len())]),
            1 if at < chars.len() => {
                chars.remove(at);
            }
            2 if at < chars.len() => chars[at] = MUTATION_CHARS[rng.below(MUTATION_CHARS.len())],
            3 => {
                let fragment = MUTATION_FRAGMENTS[rng.below(MUTATION_FRAGMENTS.len())];
                for (offset, ch) in fragment.chars().enumerate() {
                    chars.insert(at + offset, ch);
                }
            }
            _ => {
                // Truncate or duplicate a slice: unfinished escapes, doubled paths.
                if at < chars.len() && rng.below(2) == 0 {
                    chars.truncate(at);
                } else {
                    let from = rng.below(chars.len().max(1));
                    let slice: Vec<char> = chars.iter().skip(from).take(12).copied().collect();
                    for (offset, ch) in slice.into_iter().enumerate() {
                        chars.insert(at + offset, ch);
                    }
                }
            }
        }
    }
    chars.into_iter().collect()
}

#[test]
fn mutated_urls_never_panic_and_web_keys_stay_idempotent() {
    const ITERATIONS: usize = 20_000;
    // CANON_PROPERTY_SHOW=n lists up to n violations of each sort (default 60).
    let show_at_most: usize = std::env::var("CANON_PROPERTY_SHOW")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(60);
    let seeds: Vec<String> = load_corpus().into_iter().map(|c| c.url).collect();
    let mut rng = XorShift(0x9E37_79B9_7F4A_7C15);
    install_quiet_hook();

    let mut panics: Vec<String> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let mut succeeded = 0usize;
    for _ in 0..ITERATIONS {
        let seed = &seeds[rng.below(seeds.len())];
        let input = mutate(&mut rng, seed);
        QUIET_PANICS.with(|q| q.set(true));
        let outcome = panic::catch_unwind(AssertUnwindSafe(|| {
            let first = canonicalize(&input);
            let problems = check_idempotent(&input, &first);
            (first.is_ok(), problems)
        }));
        QUIET_PANICS.with(|q| q.set(false));
        match outcome {
            Ok((ok, found)) => {
                succeeded += usize::from(ok);
                problems.extend(found);
            }
            Err(payload) => {
                let message = payload
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
                    .unwrap_or_else(|| "non-string panic".to_string());
                panics.push(format!(
                    "{input:?}: expected no panic got panic `{message}`"
                ));
            }
        }
    }
    println!("property test: {ITERATIONS} mutants, {succeeded} canonicalized");
    let mut all = Vec::new();
    let total = panics.len() + problems.len();
    all.extend(panics.iter().take(show_at_most).cloned());
    all.extend(problems.iter().take(show_at_most).cloned());
    if total > all.len() {
        all.push(format!(
            "… {} panics and {} idempotence problems in all",
            panics.len(),
            problems.len()
        ));
    }
    if total > 0 {
        fail_if_any("property violations", &all);
    }
}

const NEAR_MISSES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/url_near_misses.tsv"
);

/// Two URLs of different posts that differ only slightly (another id on the same page, an id
/// differing in case, embed wrappers of two videos, …) never share a key.
#[test]
fn near_miss_pairs_never_share_a_key() {
    let text = std::fs::read_to_string(NEAR_MISSES).expect("near-miss file");
    let mut problems = Vec::new();
    let mut pairs = 0;
    for (index, line) in text.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split('\t').collect();
        let [a, b, why] = fields.as_slice() else {
            problems.push(format!("line {}: expected 3 fields", index + 1));
            continue;
        };
        pairs += 1;
        match (canonicalize(a), canonicalize(b)) {
            (Ok(ka), Ok(kb)) if ka.key == kb.key => problems.push(format!(
                "line {} ({why}): both {} — {a} | {b}",
                index + 1,
                ka.key
            )),
            (Ok(_), Ok(_)) => {}
            (ra, rb) => problems.push(format!(
                "line {} ({why}): not canonicalized: {:?} {:?}",
                index + 1,
                ra.err(),
                rb.err()
            )),
        }
    }
    assert!(pairs >= 100, "only {pairs} near-miss pairs");
    fail_if_any("near misses", &problems);
}

mod distinct_ids {
    use lantoa_core::links::canonicalize;
    use proptest::prelude::*;

    /// Every supported form of a numeric Facebook id (post, video, photo, event, reel), with
    /// the id at `{}`; forms of one family name the same post.
    const FACEBOOK_POSTS: &[&str] = &[
        "https://www.facebook.com/thnguyenhue/posts/{}",
        "https://m.facebook.com/story.php?story_fbid={}&id=100064512378901",
        "https://www.facebook.com/permalink.php?story_fbid={}&id=1",
        "https://www.facebook.com/thnguyenhue/posts/le-khai-giang/{}",
        "https://www.facebook.com/thnguyenhue/posts/{}:0",
        "https://www.facebook.com/groups/giaovien/posts/{}/",
        "https://www.facebook.com/groups/1/posts/d41d8cd9/{}/",
        "https://www.facebook.com/groups/giaovien/permalink/{}/",
        "https://www.facebook.com/events/364677040588691/permalink/{}/",
        "https://www.facebook.com/plugins/post.php?href=https%3A%2F%2Fwww.facebook.com%2Fa%2Fposts%2F{}",
        "https://www.facebook.com/#!/thnguyenhue/posts/{}",
        "https://www.facebook.com/flx/warn/?u=https%3A%2F%2Fwww.facebook.com%2Fa%2Fposts%2F{}",
    ];
    const FACEBOOK_VIDEOS: &[&str] = &[
        "https://www.facebook.com/thnguyenhue/videos/{}/",
        "https://www.facebook.com/thnguyenhue/videos/vb.1/{}/",
        "https://www.facebook.com/watch/?v={}",
        "https://www.facebook.com/watch/live/?v={}",
        "https://www.facebook.com/video.php?v={}",
        "https://www.facebook.com/video/video.php?v={}",
        "https://www.facebook.com/video/embed?video_id={}",
        "https://www.facebook.com/photo.php?v={}",
        "https://www.facebook.com/reel/{}",
        "https://www.facebook.com/plugins/video.php?href=https%3A%2F%2Fwww.facebook.com%2Fa%2Fvideos%2F{}%2F",
    ];
    const FACEBOOK_OTHERS: &[&str] = &[
        "https://www.facebook.com/photo.php?fbid={}",
        "https://www.facebook.com/thnguyenhue/photos/a.1/{}/",
        "https://www.facebook.com/events/{}/",
        "https://www.facebook.com/watchparty/{}",
    ];
    const YOUTUBE: &[&str] = &[
        "https://www.youtube.com/watch?v={}",
        "https://youtu.be/{}",
        "https://www.youtube.com/shorts/{}",
        "https://www.youtube.com/embed/{}",
        "https://www.youtube.com/live/{}",
        "https://www.youtube.com/v/{}",
        "https://www.youtube.com/e/{}",
        "https://m.youtube.com/#/watch?v={}",
        "https://www.youtubekids.com/watch?v={}",
        "https://youtube.googleapis.com/v/{}",
        "https://www.youtube.com/watch_popup?v={}",
        "https://www.youtube.com/attribution_link?a=x&u=%2Fwatch%3Fv%3D{}%26feature%3Dshare",
        "https://www.youtube.com/oembed?url=https%3A//www.youtube.com/watch?v%3D{}&format=json",
        "https://consent.youtube.com/m?continue=https%3A%2F%2Fwww.youtube.com%2Fwatch%3Fv%3D{}",
        "https://www.youtube.com/watch?feature=player_embedded&amp;v={}",
    ];
    const TIKTOK: &[&str] = &[
        "https://www.tiktok.com/@truong.thcs/video/{}",
        "https://www.tiktok.com/@truong.thcs/photo/{}",
        "https://www.tiktok.com/share/video/{}",
        "https://www.tiktokv.com/share/video/{}/",
        "https://m.tiktok.com/v/{}.html",
        "https://www.tiktok.com/embed/v2/{}",
        "https://www.tiktok.com/embed/{}",
        "https://www.tiktok.com/player/v1/{}",
    ];

    fn key(template: &str, id: &str) -> String {
        let url = template.replace("{}", id);
        canonicalize(&url)
            .unwrap_or_else(|e| panic!("{url}: {e}"))
            .key
    }

    fn numeric_id() -> impl Strategy<Value = String> {
        "[1-9][0-9]{5,18}"
    }

    fn youtube_id() -> impl Strategy<Value = String> {
        "[A-Za-z0-9_-]{11}".prop_filter("not a path word", |id| {
            !matches!(id.as_str(), "live_stream" | "videoseries")
        })
    }

    /// Two distinct ids in any two forms of a family: the keys differ; the same id in any two
    /// forms of a family: one key.
    fn check(family: &[&str], a: &str, b: &str, i: usize, j: usize) -> Result<(), TestCaseError> {
        let (fa, fb) = (family[i % family.len()], family[j % family.len()]);
        prop_assert_eq!(key(fa, a), key(fb, a), "one post, two forms: {} {}", fa, fb);
        if a != b {
            prop_assert_ne!(key(fa, a), key(fb, b), "two posts, one key: {} {}", fa, fb);
        }
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(512))]

        #[test]
        fn facebook_posts(a in numeric_id(), b in numeric_id(), i in 0usize..64, j in 0usize..64) {
            check(FACEBOOK_POSTS, &a, &b, i, j)?;
        }

        #[test]
        fn facebook_videos(a in numeric_id(), b in numeric_id(), i in 0usize..64, j in 0usize..64) {
            check(FACEBOOK_VIDEOS, &a, &b, i, j)?;
        }

        #[test]
        fn facebook_photos_events_and_parties(a in numeric_id(), b in numeric_id(), i in 0usize..4) {
            let form = FACEBOOK_OTHERS[i];
            if a != b {
                prop_assert_ne!(key(form, &a), key(form, &b));
            }
        }

        #[test]
        fn youtube(a in youtube_id(), b in youtube_id(), i in 0usize..64, j in 0usize..64) {
            check(YOUTUBE, &a, &b, i, j)?;
        }

        #[test]
        fn youtube_ids_differing_only_in_case(a in "[a-z]{11}", i in 0usize..64) {
            let form = YOUTUBE[i % YOUTUBE.len()];
            prop_assert_ne!(key(form, &a), key(form, &a.to_uppercase()));
        }

        #[test]
        fn tiktok(a in numeric_id(), b in numeric_id(), i in 0usize..64, j in 0usize..64) {
            check(TIKTOK, &a, &b, i, j)?;
        }
    }
}
