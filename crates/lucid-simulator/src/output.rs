//! Writing events as JSON lines, for files and pipes.

use std::io::{self, BufWriter, Write};

use lucid_events::EventInput;

/// Writes each event as one line of JSON and returns how many were written.
///
/// The writer is buffered here and flushed at the end; a broken pipe or full disk surfaces as
/// the I/O error.
pub fn write_json_lines<'a>(
    events: impl IntoIterator<Item = &'a EventInput>,
    writer: impl Write,
) -> io::Result<u64> {
    let mut writer = BufWriter::new(writer);
    let mut written = 0;
    for event in events {
        serde_json::to_writer(&mut writer, event)?;
        writer.write_all(b"\n")?;
        written += 1;
    }
    writer.flush()?;
    Ok(written)
}

#[cfg(test)]
mod tests {
    use lucid_events::{Action, Context, Platform, parse_event};

    use super::*;

    fn event(id: &str) -> EventInput {
        EventInput {
            event_id: id.into(),
            user_id: "user-000001".into(),
            session_id: "s-1".into(),
            event_time: "2026-12-03T17:00:00.250Z".parse().expect("valid time"),
            action: Action::MoodCheckin,
            track_id: None,
            position: None,
            listened_ms: None,
            track_duration_ms: None,
            context: Context::TherapyProgram,
            platform: Platform::Ios,
            app_version: "4.12.0".into(),
            mood_valence: Some(3),
            mood_arousal: Some(7),
        }
    }

    #[test]
    fn writes_one_parseable_object_per_line() {
        let events = [event("e-1"), event("e-2")];
        let mut out = Vec::new();
        assert_eq!(write_json_lines(&events, &mut out).expect("writes"), 2);

        let text = String::from_utf8(out).expect("utf-8");
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 2);
        assert!(text.ends_with('\n'));
        assert!(
            lines[0].contains("\"event_time\":\"2026-12-03T17:00:00.250Z\""),
            "{}",
            lines[0]
        );
        assert!(
            !lines[0].contains("track_id"),
            "absent fields are left out: {}",
            lines[0]
        );

        let value: serde_json::Value = serde_json::from_str(lines[1]).expect("json");
        assert_eq!(parse_event(&value).expect("valid input"), events[1]);
    }
}
