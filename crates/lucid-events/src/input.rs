//! The JSON event a phone sends, parsed strictly.
//!
//! Unknown fields are refused by name, and a wrong type names the field it was found in, so a
//! client developer can fix the app from the error alone.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::{Action, Context, Platform, Reason, Rejection};

/// The JSON field names of an event, in schema order.
pub const FIELDS: &[&str] = &[
    "event_id",
    "user_id",
    "session_id",
    "event_time",
    "action",
    "track_id",
    "position",
    "listened_ms",
    "track_duration_ms",
    "context",
    "platform",
    "app_version",
    "mood_valence",
    "mood_arousal",
];

/// One event as the phone sends it to `POST /v1/events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventInput {
    /// Unique id chosen by the phone, reused on retries.
    pub event_id: String,
    /// The app's user id. Replaced by a pseudonym before anything leaves ingestion.
    pub user_id: String,
    /// Listening session id chosen by the phone.
    pub session_id: String,
    /// When the action happened (RFC 3339, for example `2026-12-03T17:00:00.250Z`).
    pub event_time: DateTime<Utc>,
    /// What the listener did.
    pub action: Action,
    /// Catalog track id (track actions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_id: Option<i64>,
    /// 0-based position of the track in the session (track actions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub position: Option<i32>,
    /// Milliseconds of the track heard so far (track actions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub listened_ms: Option<i64>,
    /// Length of the track in milliseconds (track actions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub track_duration_ms: Option<i64>,
    /// Where playback was started from.
    pub context: Context,
    /// Device platform.
    pub platform: Platform,
    /// App version string.
    pub app_version: String,
    /// Mood check-ins only: valence 1-9.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mood_valence: Option<i32>,
    /// Mood check-ins only: arousal 1-9.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mood_arousal: Option<i32>,
}

/// Parses one element of the request array into an [`EventInput`].
///
/// The error names the field at fault and carries a reason code.
pub fn parse_event(value: &Value) -> Result<EventInput, Rejection> {
    if !value.is_object() {
        return Err(Rejection::event(
            Reason::NotAnObject,
            format!(
                "each event must be a JSON object, found {}",
                json_kind(value)
            ),
        ));
    }

    serde_path_to_error::deserialize(value).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner().to_string();
        classify(&path, &inner)
    })
}

/// Turns serde's message into a reason code and a field name.
///
/// serde_json's messages for these cases are stable (`missing field`, `unknown field`,
/// `invalid type`, `unknown variant`); anything else is an invalid value.
fn classify(path: &str, message: &str) -> Rejection {
    let quoted = quoted_name(message);

    let (reason, field) = if message.starts_with("missing field") {
        (Reason::MissingField, quoted.unwrap_or(path))
    } else if message.starts_with("unknown field") {
        (Reason::UnknownField, quoted.unwrap_or(path))
    } else if message.starts_with("invalid type: null") {
        (Reason::MissingField, path)
    } else if too_large(message) {
        (Reason::OutOfRange, path)
    } else if message.starts_with("invalid type") {
        (Reason::InvalidType, path)
    } else {
        (Reason::InvalidValue, path)
    };

    if field.is_empty() || field == "." {
        return Rejection::event(reason, strip_position(message));
    }
    Rejection::field(
        reason,
        field,
        explain(field, reason, &strip_position(message)),
    )
}

/// A number that does not fit the field's integer type: serde_json reports integers beyond the
/// target type as "invalid value: integer", and integers beyond 64 bits as floating point.
fn too_large(message: &str) -> bool {
    if message.starts_with("invalid value: integer") {
        return true;
    }
    let Some(number) = message.strip_prefix("invalid type: floating point `") else {
        return false;
    };
    let number = number.split('`').next().unwrap_or_default();
    number
        .parse::<f64>()
        .is_ok_and(|n| n.fract() == 0.0 && n.abs() >= 9.2e18)
}

/// The message for people. It never repeats the value of `user_id` (the refusal is stored on the
/// dead-letter topic, where no raw identifier may go), and says what a field expects instead of
/// serde's wording where that wording is unhelpful.
fn explain(field: &str, reason: Reason, serde_message: &str) -> String {
    match (field, reason) {
        ("user_id", Reason::MissingField) => "user_id is required".into(),
        ("user_id", _) => "user_id must be a non-empty string".into(),
        ("event_time", Reason::MissingField) => "event_time is required".into(),
        ("event_time", _) => {
            "event_time must be an RFC 3339 time with a zone, e.g. 2026-12-03T17:00:00.250Z".into()
        }
        ("action" | "context" | "platform", Reason::InvalidType) => {
            format!("{field} must be a string naming one of its values (see docs/ingestion.md)")
        }
        (_, Reason::MissingField) => format!("{field} is required"),
        (_, Reason::OutOfRange) => format!("{field} is out of range for its integer type"),
        _ => format!("{field}: {}", without_value(serde_message)),
    }
}

/// serde's "invalid type: string \"...\", expected i32" without the value: a client may put
/// personal data in the wrong field, and the message is stored on the dead-letter topic.
fn without_value(message: &str) -> String {
    for prefix in ["invalid type: ", "invalid value: "] {
        if let Some(rest) = message.strip_prefix(prefix)
            && let Some(expected) = rest.find(", expected")
        {
            let kind = rest.split([' ', ',']).next().unwrap_or_default();
            return format!("{prefix}{kind}{}", &rest[expected..]);
        }
    }
    message.to_owned()
}

/// The first back-quoted name in a serde message, such as `user_id` in "missing field `user_id`".
fn quoted_name(message: &str) -> Option<&str> {
    let start = message.find('`')? + 1;
    let len = message[start..].find('`')?;
    Some(&message[start..start + len])
}

/// serde_json appends " at line 1 column 5" for text input; values have no position, but be safe.
fn strip_position(message: &str) -> String {
    match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message.to_owned(),
    }
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn play() -> Value {
        json!({
            "event_id": "0b9c5a52-7c1e-4d5e-9f1a-1c2d3e4f5a6b",
            "user_id": "user-42",
            "session_id": "s-1",
            "event_time": "2026-12-03T17:00:00.250Z",
            "action": "play",
            "track_id": 2,
            "position": 0,
            "listened_ms": 0,
            "track_duration_ms": 180000,
            "context": "therapy_program",
            "platform": "android",
            "app_version": "4.12.0"
        })
    }

    #[test]
    fn parses_a_play_event() {
        let event = parse_event(&play()).expect("valid");
        assert_eq!(event.action, Action::Play);
        assert_eq!(event.track_id, Some(2));
        assert_eq!(event.event_time.timestamp_millis(), 1_796_317_200_250);
    }

    #[test]
    fn unknown_field_is_named() {
        let mut value = play();
        value["volume"] = json!(7);
        let rejection = parse_event(&value).expect_err("unknown field");
        assert_eq!(rejection.reason, Reason::UnknownField);
        assert_eq!(rejection.field.as_deref(), Some("volume"));
    }

    #[test]
    fn missing_field_is_named() {
        let mut value = play();
        value.as_object_mut().expect("object").remove("user_id");
        let rejection = parse_event(&value).expect_err("missing field");
        assert_eq!(rejection.reason, Reason::MissingField);
        assert_eq!(rejection.field.as_deref(), Some("user_id"));
    }

    #[test]
    fn wrong_type_names_the_field() {
        let mut value = play();
        value["listened_ms"] = json!("a lot");
        let rejection = parse_event(&value).expect_err("wrong type");
        assert_eq!(rejection.reason, Reason::InvalidType);
        assert_eq!(rejection.field.as_deref(), Some("listened_ms"));
    }

    #[test]
    fn unknown_action_is_an_invalid_value() {
        let mut value = play();
        value["action"] = json!("rewind");
        let rejection = parse_event(&value).expect_err("bad enum");
        assert_eq!(rejection.reason, Reason::InvalidValue);
        assert_eq!(rejection.field.as_deref(), Some("action"));
    }

    #[test]
    fn null_required_field_is_missing() {
        let mut value = play();
        value["session_id"] = json!(null);
        let rejection = parse_event(&value).expect_err("null");
        assert_eq!(
            (rejection.reason, rejection.field.as_deref()),
            (Reason::MissingField, Some("session_id"))
        );
    }

    #[test]
    fn numbers_too_large_for_the_field_are_out_of_range() {
        for (field, number) in [
            ("position", json!(3_000_000_000_u64)),
            ("track_id", json!(9_223_372_036_854_775_808_u64)),
        ] {
            let mut value = play();
            value[field] = number;
            let rejection = parse_event(&value).expect_err("too large");
            assert_eq!(
                (rejection.reason, rejection.field.as_deref()),
                (Reason::OutOfRange, Some(field))
            );
        }
        let value: Value = serde_json::from_str(
            &play()
                .to_string()
                .replace("\"track_id\":2", "\"track_id\":99999999999999999999"),
        )
        .expect("json");
        assert_eq!(
            parse_event(&value).expect_err("20 digits").reason,
            Reason::OutOfRange
        );
    }

    #[test]
    fn user_id_values_never_reach_the_message() {
        let mut value = play();
        value["user_id"] = json!(4_915_112_345_678_i64);
        let rejection = parse_event(&value).expect_err("a number");
        assert_eq!(rejection.reason, Reason::InvalidType);
        assert!(
            !rejection.message.contains("4915112345678"),
            "{}",
            rejection.message
        );
    }

    #[test]
    fn values_in_the_wrong_field_never_reach_the_message() {
        let mut value = play();
        value["mood_valence"] = json!("carol-secret");
        value["action"] = json!("mood_checkin");
        let rejection = parse_event(&value).expect_err("a string");
        assert_eq!(
            rejection.message,
            "mood_valence: invalid type: string, expected i32"
        );
    }

    #[test]
    fn bad_event_time_says_what_is_expected() {
        let mut value = play();
        value["event_time"] = json!("03/12/2026 17:00");
        let rejection = parse_event(&value).expect_err("not rfc 3339");
        assert!(
            rejection.message.contains("RFC 3339"),
            "{}",
            rejection.message
        );
    }

    #[test]
    fn non_object_is_refused() {
        let rejection = parse_event(&json!(17)).expect_err("not an object");
        assert_eq!(rejection.reason, Reason::NotAnObject);
    }
}
