//! Server-rendered SVG charts (pure): no script, no library, readable on a phone.

use std::fmt::Write as _;

/// One week of the trend: its label and two shares between 0 and 1 (`None`: not computed).
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    pub week: String,
    pub participation: Option<f64>,
    pub units_met: Option<f64>,
}

const WIDTH: f64 = 640.0;
const HEIGHT: f64 = 220.0;
const LEFT: f64 = 40.0;
const RIGHT: f64 = 12.0;
const TOP: f64 = 12.0;
const BOTTOM: f64 = 36.0;

/// A line chart of participation and of units meeting quota over the weeks, 0–100 %.
pub fn trend_svg(points: &[TrendPoint]) -> String {
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let x = |i: usize| {
        if points.len() <= 1 {
            LEFT + plot_w / 2.0
        } else {
            LEFT + plot_w * i as f64 / (points.len() - 1) as f64
        }
    };
    let y = |share: f64| TOP + plot_h * (1.0 - share.clamp(0.0, 1.0));
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" \
         role=\"img\" aria-label=\"Xu hướng 12 tuần\" class=\"chart\">"
    );
    for percent in [0, 25, 50, 75, 100] {
        let at = y(f64::from(percent) / 100.0);
        let _ = write!(
            svg,
            "<line x1=\"{LEFT}\" y1=\"{at:.1}\" x2=\"{:.1}\" y2=\"{at:.1}\" stroke=\"#e3e7ee\"/>\
             <text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"end\" fill=\"#5a6475\">{percent}%</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            at + 4.0
        );
    }
    for (i, point) in points.iter().enumerate() {
        // Every other label on a narrow chart: `2026-W49` → `W49`.
        if i % 2 == points.len().saturating_sub(1) % 2 {
            let label = point.week.rsplit('-').next().unwrap_or(&point.week);
            let _ = write!(
                svg,
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" text-anchor=\"middle\" fill=\"#5a6475\">{label}</text>",
                x(i),
                HEIGHT - BOTTOM + 16.0
            );
        }
    }
    for (series, colour, id) in [
        (
            points.iter().map(|p| p.participation).collect::<Vec<_>>(),
            "#0b5394",
            "participation",
        ),
        (
            points.iter().map(|p| p.units_met).collect::<Vec<_>>(),
            "#1b7a35",
            "units-met",
        ),
    ] {
        let coordinates: Vec<String> = series
            .iter()
            .enumerate()
            .filter_map(|(i, share)| share.map(|s| format!("{:.1},{:.1}", x(i), y(s))))
            .collect();
        let _ = write!(
            svg,
            "<polyline id=\"{id}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2.5\" points=\"{}\"/>",
            coordinates.join(" ")
        );
        for (i, share) in series.iter().enumerate() {
            if let Some(share) = share {
                let _ = write!(
                    svg,
                    "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"3\" fill=\"{colour}\"><title>{}: {:.0}%</title></circle>",
                    x(i),
                    y(*share),
                    points[i].week,
                    share * 100.0
                );
            }
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(week: &str, participation: Option<f64>, units_met: Option<f64>) -> TrendPoint {
        TrendPoint {
            week: week.into(),
            participation,
            units_met,
        }
    }

    #[test]
    fn each_series_is_a_line_through_its_weeks_and_skips_unknown_ones() {
        let svg = trend_svg(&[
            point("2026-W47", Some(0.0), Some(1.0)),
            point("2026-W48", None, Some(0.5)),
            point("2026-W49", Some(1.0), Some(0.0)),
        ]);
        assert!(svg.starts_with("<svg") && svg.ends_with("</svg>"));
        // 0 % at the bottom of the plot (y 184), 100 % at the top (y 12).
        assert!(svg.contains("id=\"participation\" fill=\"none\" stroke=\"#0b5394\" stroke-width=\"2.5\" points=\"40.0,184.0 628.0,12.0\""), "{svg}");
        assert!(
            svg.contains("points=\"40.0,12.0 334.0,98.0 628.0,184.0\""),
            "{svg}"
        );
        assert!(svg.contains("<title>2026-W48: 50%</title>"));
        assert!(svg.contains(">W49<") && svg.contains(">W47<"));
        assert!(!svg.contains("script"));
    }
}
