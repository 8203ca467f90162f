//! The Sở page's yearly targets (DESIGN §1) and the pace still needed to reach them by the end
//! of the year (pure): from what the page itself shows when it is connected and read, else
//! from what staff sent.

use serde::Serialize;

use lantoa_domain::calendar::IsoWeek;
use lantoa_domain::standings::SoPageInputs;

pub const YEARLY_POSTS: u32 = 192;
pub const YEARLY_SHARES: u32 = 250;
pub const FOLLOWERS: u32 = 32_000;

/// One target and the pace needed to reach it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Target {
    pub done: u32,
    pub target: u32,
    pub missing: u32,
    /// ISO weeks left in the year after the period.
    pub weeks_left: u32,
    /// What each of those weeks must bring, to one decimal (rounded up); all that is missing
    /// when no week is left.
    pub per_week_needed: f64,
    /// The same as Vietnamese writes it (`10,5`).
    pub per_week_text: String,
    /// `done` and `target` as Vietnamese writes them (`28.450`, `32.000`).
    pub done_text: String,
    pub target_text: String,
}

pub fn target(done: u32, target: u32, weeks_left: u32) -> Target {
    let missing = target.saturating_sub(done);
    let per_week_needed = if weeks_left == 0 {
        f64::from(missing)
    } else {
        (f64::from(missing) / f64::from(weeks_left) * 10.0).ceil() / 10.0
    };
    Target {
        done,
        target,
        missing,
        weeks_left,
        per_week_needed,
        per_week_text: decimal(per_week_needed),
        done_text: thousands(done),
        target_text: thousands(target),
    }
}

/// `10.5` as `10,5`, `4.0` as `4`.
fn decimal(value: f64) -> String {
    let text = format!("{value:.1}");
    text.strip_suffix(".0").unwrap_or(&text).replace('.', ",")
}

/// A count with Vietnamese thousands separators (`32.000`).
pub fn thousands(value: u32) -> String {
    let digits = value.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(digit);
    }
    out
}

impl Target {
    /// `150/192 bài (cần 10,5 bài/tuần đến cuối năm)`, or `… (đã đạt)`.
    pub fn text(&self, unit: &str) -> String {
        let done = format!("{}/{} {unit}", self.done_text, self.target_text);
        if self.missing == 0 {
            format!("{done} (đã đạt)")
        } else if self.weeks_left == 0 {
            format!("{done} (còn thiếu {})", thousands(self.missing))
        } else {
            format!("{done} (cần {}/tuần đến cuối năm)", self.per_week_text)
        }
    }
}

impl SoPage {
    /// The reports' line: the figures, their source and the pace.
    pub fn summary(&self) -> String {
        let mut parts = vec![self.posts.text("bài"), self.shares.text("lượt chia sẻ")];
        match &self.followers {
            Some(followers) => parts.push(followers.text("người theo dõi")),
            None => parts.push("người theo dõi: chưa đo".to_string()),
        }
        format!(
            "Trang Sở từ đầu năm ({}): {}",
            self.source_label,
            parts.join(", ")
        )
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// Read from the page through the Graph API.
    Measured,
    /// Counted from the links staff sent.
    Submissions,
}

/// The Sở page's targets as reports, the Monday summary and the dashboard show them.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SoPage {
    pub source: Source,
    /// "đo trên trang ngày 01/12/2026" or "đếm từ link gửi".
    pub source_label: String,
    pub measured_on: Option<String>,
    pub posts: Target,
    pub shares: Target,
    pub followers: Option<Target>,
    pub followers_on: Option<String>,
    pub top_posts: Vec<ShownPost>,
}

/// One of the most-shared posts, as reports and messages show it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ShownPost {
    pub url: String,
    pub share: bool,
    /// `dd/mm/yyyy`.
    pub published_on: String,
    pub shares: i64,
    pub reactions: i64,
    pub comments: i64,
}

/// A day as Vietnamese writes it: `01/12/2026`.
pub fn shown_day(day: jiff::civil::Date) -> String {
    day.strftime("%d/%m/%Y").to_string()
}

/// ISO weeks of `week`'s year after it.
pub fn weeks_left_after(week: IsoWeek) -> u32 {
    std::iter::successors(Some(week.next()), |w| Some(w.next()))
        .take_while(|w| w.year() == week.year())
        .count() as u32
}

/// The figures of a period ending in `last_week` (none: no week left to count on).
pub fn so_page(inputs: &SoPageInputs, last_week: Option<IsoWeek>) -> SoPage {
    let weeks_left = last_week.map_or(0, weeks_left_after);
    let measured_on = inputs.measured_on.map(shown_day);
    let (source, source_label) = match &measured_on {
        Some(day) => (Source::Measured, format!("đo trên trang ngày {day}")),
        None => (Source::Submissions, "đếm từ link gửi".to_string()),
    };
    SoPage {
        source,
        source_label,
        measured_on,
        posts: target(inputs.posts, YEARLY_POSTS, weeks_left),
        shares: target(inputs.shares, YEARLY_SHARES, weeks_left),
        followers: inputs
            .followers
            .as_ref()
            .map(|(count, _)| target(*count, FOLLOWERS, weeks_left)),
        followers_on: inputs.followers.map(|(_, day)| shown_day(day)),
        top_posts: inputs
            .top_posts
            .iter()
            .map(|post| ShownPost {
                url: post.url.clone(),
                share: post.share,
                published_on: shown_day(post.published_on),
                shares: post.shares,
                reactions: post.reactions,
                comments: post.comments,
            })
            .collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_pace_spreads_what_is_missing_over_the_weeks_left() {
        let t = target(150, 192, 4);
        assert_eq!((t.missing, t.per_week_needed), (42, 10.5));
        assert_eq!(target(100, 192, 7).per_week_needed, 13.2, "rounded up");
        assert_eq!(target(200, 192, 4).per_week_needed, 0.0);
        assert_eq!(target(190, 192, 0).per_week_needed, 2.0, "no week left");
        assert_eq!(t.per_week_text, "10,5");
        assert_eq!(target(100, 192, 23).per_week_text, "4");
        assert_eq!(t.text("bài"), "150/192 bài (cần 10,5/tuần đến cuối năm)");
        assert_eq!(target(200, 192, 4).text("bài"), "200/192 bài (đã đạt)");
        assert_eq!(
            target(31_000, 32_000, 0).text("người"),
            "31.000/32.000 người (còn thiếu 1.000)"
        );
        assert_eq!(thousands(999), "999");
        assert_eq!(thousands(1_234_567), "1.234.567");
    }

    #[test]
    fn weeks_left_are_counted_after_the_period() {
        assert_eq!(
            weeks_left_after("2026-W48".parse().unwrap()),
            5,
            "2026 has 53 weeks"
        );
        assert_eq!(weeks_left_after("2025-W52".parse().unwrap()), 0);
    }

    #[test]
    fn the_source_is_named() {
        let counted = so_page(&SoPageInputs::default(), "2026-W48".parse().ok());
        assert_eq!(counted.source, Source::Submissions);
        assert_eq!(counted.source_label, "đếm từ link gửi");
        assert!(counted.followers.is_none());
        let measured = so_page(
            &SoPageInputs {
                posts: 150,
                shares: 90,
                followers: Some((31_000, jiff::civil::date(2026, 12, 1))),
                measured_on: Some(jiff::civil::date(2026, 12, 1)),
                top_posts: Vec::new(),
            },
            "2026-W48".parse().ok(),
        );
        assert_eq!(measured.source, Source::Measured);
        assert_eq!(measured.source_label, "đo trên trang ngày 01/12/2026");
        assert_eq!(measured.followers.as_ref().unwrap().missing, 1_000);
        assert_eq!(
            measured.summary(),
            "Trang Sở từ đầu năm (đo trên trang ngày 01/12/2026): 150/192 bài (cần 8,4/tuần đến cuối năm), \
             90/250 lượt chia sẻ (cần 32/tuần đến cuối năm), 31.000/32.000 người theo dõi (cần 200/tuần đến cuối năm)"
        );
        assert!(counted.summary().contains("người theo dõi: chưa đo"));
    }
}
