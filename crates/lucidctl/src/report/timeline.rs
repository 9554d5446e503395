//! The timeline table: drift alerts, retraining runs and rollout transitions in time order.

use std::fmt::Write;

use super::{
    events::Events,
    html::{escape, note, time_text},
};

/// Appends the timeline section; every cell is escaped, since reasons are free text.
pub fn section(html: &mut String, events: &Events) {
    html.push_str("<section id=\"timeline\">\n<h2>Timeline</h2>\n");
    let mut rows: Vec<(i64, [String; 6])> = Vec::new();
    for a in &events.alerts {
        let detail = format!(
            "drift share {:.3}; drifted: {}",
            a.drift_share,
            a.drifted.join(", ")
        );
        let change = format!("{} → {} ({})", a.previous_band, a.band, a.reason);
        rows.push((
            a.detected_time,
            [
                "drift-alerts".into(),
                a.monitor.clone(),
                change,
                String::new(),
                String::new(),
                detail,
            ],
        ));
    }
    for r in &events.runs {
        let change = match &r.model_version {
            Some(version) => format!("{} (version {version})", r.status),
            None => r.status.clone(),
        };
        let detail = format!("{}: {}", r.trigger, r.reason);
        rows.push((
            r.event_time,
            [
                "retraining-runs".into(),
                r.model_name.clone(),
                change,
                String::new(),
                String::new(),
                detail,
            ],
        ));
    }
    for r in &events.rollouts {
        let subject = format!(
            "{} {} → {}",
            r.model_name,
            r.from_version.as_deref().unwrap_or("-"),
            r.to_version
        );
        let weights: Vec<String> = r
            .weights
            .iter()
            .map(|(v, p)| format!("{v}: {p}%"))
            .collect();
        let change = format!("{} → {}", r.transition, r.state);
        let verdict = r.verdict.clone().unwrap_or_default();
        rows.push((
            r.event_time,
            [
                "rollouts".into(),
                subject,
                change,
                weights.join(", "),
                verdict,
                r.reason.clone(),
            ],
        ));
    }
    if rows.is_empty() {
        note(
            html,
            "No drift alert, retraining run or rollout transition since the start.",
        );
        html.push_str("</section>\n");
        return;
    }

    rows.sort_by_key(|(time, _)| *time);
    html.push_str(
        "<table>\n<tr><th>time (UTC)</th><th>topic</th><th>subject</th><th>change</th>\
         <th>weights</th><th>verdict</th><th>reason</th></tr>\n",
    );
    for (time, cells) in &rows {
        let _ = write!(
            html,
            "<tr><td class=\"time\">{}</td>",
            time_text(*time, "%H:%M:%S%.3f")
        );
        for cell in cells {
            let _ = write!(html, "<td>{}</td>", escape(cell));
        }
        html.push_str("</tr>\n");
    }
    html.push_str("</table>\n</section>\n");
}
