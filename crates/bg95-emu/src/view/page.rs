//! Renders a [`Timeline`] with the page template (`templates/timeline.html`, minijinja with
//! HTML auto-escaping): one self-contained file, its CSS and script inline, no network.

use minijinja::value::{Serde, Value};
use minijinja::{context, Environment};
use serde::Serialize;

use super::model::{format_duration, Item, Kind, Lane};
use super::Timeline;

const TEMPLATE: &str = include_str!("../../templates/timeline.html");

/// A row as the template places it: which part of the width it spans, which way it points.
#[derive(Serialize)]
struct PageRow<'a> {
    #[serde(flatten)]
    item: &'a Item,
    /// `hm` host↔module, `ms` module↔server, `all` across the three lanes, `mod` on the
    /// module's lifeline, `diff` the replay column.
    seg: &'static str,
    /// `ltr` or `rtl`.
    dir: &'static str,
    /// The band's length, e.g. `24 ms`.
    band_time: Option<String>,
}

fn x(lane: Lane) -> u8 {
    match lane {
        Lane::Host => 0,
        Lane::Module => 1,
        Lane::Server => 2,
    }
}

fn place(item: &Item) -> (&'static str, &'static str) {
    let seg = match (
        item.kind,
        x(item.from).min(x(item.to)),
        x(item.from).max(x(item.to)),
    ) {
        (Kind::Fault | Kind::Note, _, _) => "all",
        (Kind::Power, _, _) => "mod",
        (Kind::Diff, _, _) => "diff",
        (_, 0, 1) => "hm",
        (_, 1, 2) => "ms",
        _ => "all",
    };
    let dir = if x(item.from) <= x(item.to) {
        "ltr"
    } else {
        "rtl"
    };
    (seg, dir)
}

/// `307 200` (a thin space between thousands).
fn group(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{2009}');
        }
        out.push(c);
    }
    out
}

/// The page's HTML.
pub fn render(timeline: &Timeline) -> Result<String, String> {
    let mut env = Environment::new();
    env.add_filter("bytes", |n: u64| group(n));
    env.add_template("timeline.html", TEMPLATE)
        .map_err(|e| format!("page template: {e}"))?;
    let rows: Vec<PageRow> = timeline
        .rows
        .items
        .iter()
        .map(|item| {
            let (seg, dir) = place(item);
            let band_time = item.band.as_ref().map(|b| {
                format_duration(std::time::Duration::from_micros(
                    b.end_us.saturating_sub(item.t_us),
                ))
            });
            PageRow {
                item,
                seg,
                dir,
                band_time,
            }
        })
        .collect();
    let with_diff = rows.iter().any(|r| r.item.kind == Kind::Diff);
    let ctx = context! {
        summary => Value::from(Serde(timeline.summary())),
        rows => Value::from(Serde(&rows)),
        with_diff => with_diff,
        end_us => timeline.rows.end_us,
    };
    env.get_template("timeline.html")
        .and_then(|t| t.render(ctx))
        .map_err(|e| format!("page template: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(group(0), "0");
        assert_eq!(group(999), "999");
        assert_eq!(group(307200), "307\u{2009}200");
        assert_eq!(group(1234567), "1\u{2009}234\u{2009}567");
    }
}
