//! The report page: sections of charts, the timeline table, and the plotted numbers as JSON.

use std::fmt::Write;

use super::{
    chart::{self, Chart, DRIFT, Line, PALETTE, Times, WARNING},
    events::Events,
    series::Series,
    timeline,
};

const STYLE: &str = "
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1120px; color: #222; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; }
h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
h3 { font-size: 1.05em; margin: 1.2em 0 0.4em; } .meta, .note { color: #666; }
.grid { display: flex; flex-wrap: wrap; gap: 12px; }
figure { margin: 0; border: 1px solid #eee; padding: 4px; }
figcaption { font-size: 0.9em; color: #444; padding: 2px 6px; }
table { border-collapse: collapse; width: 100%; font-size: 0.92em; }
th, td { text-align: left; padding: 3px 8px; border-bottom: 1px solid #eee; vertical-align: top; }
th { background: #f6f6f6; } td.time { white-space: nowrap; font-variant-numeric: tabular-nums; }
";

/// What the page is drawn from.
pub struct Page<'a> {
    pub title: &'a str,
    pub since_ms: i64,
    /// The latest time in the data; the x axes and step lines end there.
    pub end_ms: i64,
    pub series: &'a Series,
    pub events: &'a Events,
}

/// The whole page: one self-contained HTML document.
pub fn render(page: &Page) -> anyhow::Result<String> {
    let mut html = String::new();
    let title = escape(page.title);
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{title}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n<h1>{title}</h1>\n\
         <p class=\"meta\">From {} to {} UTC; x axes in seconds since the start.</p>\n",
        time_text(page.since_ms, "%Y-%m-%d %H:%M:%S"),
        time_text(page.end_ms, "%Y-%m-%d %H:%M:%S"),
    );
    drift_section(&mut html, page)?;
    weights_section(&mut html, page)?;
    outcomes_section(&mut html, page)?;
    throughput_section(&mut html, page)?;
    timeline::section(&mut html, page.events);

    let json = serde_json::to_string(page.series)?;
    let _ = write!(
        html,
        "<script type=\"application/json\" id=\"series\">{}</script>\n</body>\n</html>\n",
        script_safe(&json)
    );
    Ok(html)
}

fn drift_section(html: &mut String, page: &Page) -> anyhow::Result<()> {
    html.push_str("<section id=\"drift\">\n<h2>Drift statistics against their thresholds</h2>\n");
    if page.series.drift.is_empty() {
        note(
            html,
            "No drift report was recorded since the start (the drift detector did not answer \
             or had not checked yet).",
        );
    }
    for (monitor, m) in &page.series.drift {
        let header = escape(monitor);
        let _ = writeln!(html, "<h3>Monitor {header}</h3>\n<div class=\"grid\">");
        let at = Times {
            origin_ms: page.since_ms,
            t: &m.t,
        };
        let share = present(&m.drift_share);
        let lines = vec![
            at.points("drift share", PALETTE[0], &share),
            at.dashed("share threshold", DRIFT, &m.share_threshold),
        ];
        figure(html, page, "share of drifted columns", lines, "drift share")?;

        for (column, c) in &m.columns {
            let at = Times {
                origin_ms: page.since_ms,
                t: &c.t,
            };
            let lines = vec![
                at.points(&c.method, PALETTE[0], &c.value),
                at.dashed("warning", WARNING, &c.warning_threshold),
                at.dashed("drift", DRIFT, &c.drift_threshold),
            ];
            let caption = format!("{column} ({})", c.method);
            figure(html, page, &caption, lines, &c.method)?;
        }
        html.push_str("</div>\n");
    }
    html.push_str("</section>\n");
    Ok(())
}

fn weights_section(html: &mut String, page: &Page) -> anyhow::Result<()> {
    html.push_str("<section id=\"weights\">\n<h2>Traffic weights per version</h2>\n");
    if page.series.weights.is_empty() {
        note(
            html,
            "No rollout event since the start, so the traffic table did not change.",
        );
    }
    for (model, w) in &page.series.weights {
        html.push_str("<div class=\"grid\">\n");
        let at = Times {
            origin_ms: page.since_ms,
            t: &w.t,
        };
        let lines = w
            .versions
            .iter()
            .enumerate()
            .map(|(i, (version, percents))| {
                let name = format!("version {version}");
                at.steps(&name, PALETTE[i % PALETTE.len()], percents)
            })
            .collect();
        let caption = format!("{model}: percent of live traffic");
        let chart = Chart {
            y_range: Some((0.0, 105.0)),
            ..chart_of(page, lines, "percent")
        };
        push_figure(html, &caption, &chart::render(&chart)?);
        html.push_str("</div>\n");
    }
    html.push_str("</section>\n");
    Ok(())
}

fn outcomes_section(html: &mut String, page: &Page) -> anyhow::Result<()> {
    html.push_str("<section id=\"outcomes\">\n<h2>Live outcome metrics per version</h2>\n");
    if page.series.outcomes.is_empty() {
        note(
            html,
            "No analysed rollout transition (one with a verdict) since the start.",
        );
    }
    let origin = page.since_ms;
    for (model, o) in &page.series.outcomes {
        html.push_str("<div class=\"grid\">\n");
        let at = Times {
            origin_ms: origin,
            t: &o.t,
        };
        let pairs = [
            ("log loss", &o.stable_log_loss, &o.candidate_log_loss),
            (
                "calibration error",
                &o.stable_calibration_error,
                &o.candidate_calibration_error,
            ),
        ];
        for (metric, stable, candidate) in pairs {
            let lines = vec![
                at.points("stable", PALETTE[0], stable),
                at.points("candidate", PALETTE[1], candidate),
            ];
            // The verdict is written above the higher of the two points it judged.
            let notes =
                o.t.iter()
                    .zip(stable.iter().zip(candidate))
                    .zip(&o.verdict)
                    .filter_map(|((&t, (s, c)), verdict)| {
                        let y = [*s, *c].into_iter().flatten().reduce(f64::max)?;
                        Some((chart::seconds_since(origin, t), y, verdict.clone()))
                    })
                    .collect();
            let chart = Chart {
                notes,
                ..chart_of(page, lines, metric)
            };
            let caption = format!("{model}: {metric}, stable vs candidate, verdict at each step");
            push_figure(html, &caption, &chart::render(&chart)?);
        }
        html.push_str("</div>\n");
    }
    html.push_str("</section>\n");
    Ok(())
}

fn throughput_section(html: &mut String, page: &Page) -> anyhow::Result<()> {
    html.push_str(
        "<section id=\"throughput\">\n<h2>Feature store: events per second and freshness</h2>\n",
    );
    let t = &page.series.throughput;
    if t.t.is_empty() {
        note(
            html,
            "Fewer than two feature store samples since the start, so no rate to show.",
        );
    } else {
        html.push_str("<div class=\"grid\">\n");
        let at = Times {
            origin_ms: page.since_ms,
            t: &t.t,
        };
        let rate = present(&t.events_per_second);
        let rate = vec![at.points("events/s", PALETTE[2], &rate)];
        figure(
            html,
            page,
            "events applied per second",
            rate,
            "events per second",
        )?;
        let fresh = vec![at.points("mean freshness", PALETTE[3], &t.freshness_seconds)];
        let caption = "mean freshness of the events applied in each interval";
        figure(html, page, caption, fresh, "seconds")?;
        html.push_str("</div>\n");
    }
    html.push_str("</section>\n");
    Ok(())
}

fn chart_of(page: &Page, lines: Vec<Line>, y_label: &str) -> Chart {
    Chart {
        y_label: y_label.to_owned(),
        lines,
        x_end: chart::seconds_since(page.since_ms, page.end_ms),
        ..Chart::default()
    }
}

fn figure(
    html: &mut String,
    page: &Page,
    caption: &str,
    lines: Vec<Line>,
    y_label: &str,
) -> anyhow::Result<()> {
    push_figure(
        html,
        caption,
        &chart::render(&chart_of(page, lines, y_label))?,
    );
    Ok(())
}

fn push_figure(html: &mut String, caption: &str, svg: &str) {
    let _ = writeln!(
        html,
        "<figure>{svg}<figcaption>{}</figcaption></figure>",
        escape(caption)
    );
}

pub(super) fn note(html: &mut String, text: &str) {
    let _ = writeln!(html, "<p class=\"note\">{}</p>", escape(text));
}

fn present(xs: &[f64]) -> Vec<Option<f64>> {
    xs.iter().copied().map(Some).collect()
}

pub(super) fn time_text(ms: i64, format: &str) -> String {
    chrono::DateTime::from_timestamp_millis(ms)
        .map_or_else(|| ms.to_string(), |t| t.format(format).to_string())
}

/// Text made safe for HTML element content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// JSON that cannot close the `<script>` element it sits in; these characters only occur inside
/// JSON strings, where the escapes mean the same.
fn script_safe(json: &str) -> String {
    json.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}
