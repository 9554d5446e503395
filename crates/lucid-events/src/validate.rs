//! The rules an event must meet before it is produced.
//!
//! Parsing (see [`crate::input`]) already checked names and types; this checks values, and which
//! fields each action may carry.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{Action, EventInput, Reason, Rejection};

/// Bounds that depend on deployment, from the ingestion config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// How far in the future an event time may lie (phone clocks drift).
    pub max_future_skew: Duration,
    /// How old an event may be (phones buffer events while offline).
    pub max_age: Duration,
    /// How far `listened_ms` may exceed `track_duration_ms` (players report a little past the end).
    pub listened_slack_ms: i64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_future_skew: Duration::from_secs(5 * 60),
            max_age: Duration::from_secs(7 * 24 * 3600),
            listened_slack_ms: 5_000,
        }
    }
}

const MAX_ID_LEN: usize = 128;
const MAX_POSITION: i32 = 10_000;
const MAX_TRACK_MS: i64 = 24 * 3600 * 1000;
const TRACK_FIELDS: [&str; 4] = ["track_id", "position", "listened_ms", "track_duration_ms"];
const MOOD_FIELDS: [&str; 2] = ["mood_valence", "mood_arousal"];

/// Checks one parsed event against the rules, as of `now`.
pub fn validate(event: &EventInput, limits: &Limits, now: DateTime<Utc>) -> Result<(), Rejection> {
    check_id("event_id", &event.event_id)?;
    check_text("user_id", &event.user_id, 256)?;
    check_id("session_id", &event.session_id)?;
    check_text("app_version", &event.app_version, 32)?;
    check_time(event.event_time, limits, now)?;
    check_track_fields(event, limits)?;
    check_mood_fields(event)
}

fn check_id(field: &str, value: &str) -> Result<(), Rejection> {
    check_text(field, value, MAX_ID_LEN)?;

    let allowed = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.' | ':');
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        return Err(Rejection::field(
            Reason::InvalidValue,
            field,
            format!("{field} may hold only letters, digits and - _ . : but holds {bad:?}"),
        ));
    }
    Ok(())
}

fn check_text(field: &str, value: &str, max_len: usize) -> Result<(), Rejection> {
    if value.trim().is_empty() {
        return Err(Rejection::field(
            Reason::InvalidValue,
            field,
            format!("{field} is empty"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Rejection::field(
            Reason::InvalidValue,
            field,
            format!("{field} contains control characters"),
        ));
    }
    if value.len() > max_len {
        return Err(Rejection::field(
            Reason::OutOfRange,
            field,
            format!(
                "{field} is {} bytes long; at most {max_len} are allowed",
                value.len()
            ),
        ));
    }
    Ok(())
}

fn check_time(time: DateTime<Utc>, limits: &Limits, now: DateTime<Utc>) -> Result<(), Rejection> {
    let ahead = time.signed_duration_since(now).to_std().unwrap_or_default();
    if ahead > limits.max_future_skew {
        return Err(Rejection::field(
            Reason::EventTimeInFuture,
            "event_time",
            format!(
                "event_time is {}s ahead of the server clock; at most {}s are allowed",
                ahead.as_secs(),
                limits.max_future_skew.as_secs()
            ),
        ));
    }

    let age = now.signed_duration_since(time).to_std().unwrap_or_default();
    if age > limits.max_age {
        return Err(Rejection::field(
            Reason::EventTimeTooOld,
            "event_time",
            format!(
                "event_time is {}s old; events older than {}s are refused",
                age.as_secs(),
                limits.max_age.as_secs()
            ),
        ));
    }
    Ok(())
}

fn check_track_fields(event: &EventInput, limits: &Limits) -> Result<(), Rejection> {
    let values = [
        event.track_id.is_some(),
        event.position.is_some(),
        event.listened_ms.is_some(),
        event.track_duration_ms.is_some(),
    ];

    if !event.action.is_track_action() {
        return forbid(event.action, &TRACK_FIELDS, &values);
    }
    let (Some(track), Some(position), Some(listened), Some(duration)) = (
        event.track_id,
        event.position,
        event.listened_ms,
        event.track_duration_ms,
    ) else {
        return require(event.action, &TRACK_FIELDS, &values);
    };

    range("track_id", track, 0, i64::MAX)?;
    range("position", i64::from(position), 0, i64::from(MAX_POSITION))?;
    range("track_duration_ms", duration, 1, MAX_TRACK_MS)?;
    range(
        "listened_ms",
        listened,
        0,
        duration + limits.listened_slack_ms,
    )
}

fn check_mood_fields(event: &EventInput) -> Result<(), Rejection> {
    let values = [event.mood_valence.is_some(), event.mood_arousal.is_some()];
    if event.action != Action::MoodCheckin {
        return forbid(event.action, &MOOD_FIELDS, &values);
    }
    require(event.action, &MOOD_FIELDS, &values)?;

    for (field, value) in MOOD_FIELDS
        .iter()
        .zip([event.mood_valence, event.mood_arousal])
    {
        range(field, i64::from(value.unwrap_or_default()), 1, 9)?;
    }
    Ok(())
}

fn require(action: Action, fields: &[&str], present: &[bool]) -> Result<(), Rejection> {
    match fields.iter().zip(present).find(|(_, present)| !**present) {
        Some((field, _)) => Err(Rejection::field(
            Reason::MissingField,
            field,
            format!("{field} is required for action {action}"),
        )),
        None => Ok(()),
    }
}

fn forbid(action: Action, fields: &[&str], present: &[bool]) -> Result<(), Rejection> {
    match fields.iter().zip(present).find(|(_, present)| **present) {
        Some((field, _)) => Err(Rejection::field(
            Reason::FieldNotAllowed,
            field,
            format!("{field} must be absent for action {action}"),
        )),
        None => Ok(()),
    }
}

fn range(field: &str, value: i64, min: i64, max: i64) -> Result<(), Rejection> {
    if (min..=max).contains(&value) {
        return Ok(());
    }
    Err(Rejection::field(
        Reason::OutOfRange,
        field,
        format!("{field} is {value}; it must lie between {min} and {max}"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Context, Platform};

    fn now() -> DateTime<Utc> {
        "2026-12-03T17:00:00Z".parse().expect("valid time")
    }

    fn play() -> EventInput {
        EventInput {
            event_id: "e-1".into(),
            user_id: "user-42".into(),
            session_id: "s-1".into(),
            event_time: now(),
            action: Action::Play,
            track_id: Some(2),
            position: Some(0),
            listened_ms: Some(1_000),
            track_duration_ms: Some(180_000),
            context: Context::Playlist,
            platform: Platform::Ios,
            app_version: "4.12.0".into(),
            mood_valence: None,
            mood_arousal: None,
        }
    }

    fn reject(event: &EventInput) -> Rejection {
        validate(event, &Limits::default(), now()).expect_err("must be refused")
    }

    #[test]
    fn accepts_a_valid_play() {
        assert_eq!(validate(&play(), &Limits::default(), now()), Ok(()));
    }

    #[test]
    fn listened_time_may_exceed_duration_by_the_slack_only() {
        let mut event = play();
        event.listened_ms = Some(185_000);
        assert_eq!(validate(&event, &Limits::default(), now()), Ok(()));

        event.listened_ms = Some(185_001);
        let rejection = reject(&event);
        assert_eq!(rejection.reason, Reason::OutOfRange);
        assert_eq!(rejection.field.as_deref(), Some("listened_ms"));
        assert!(
            rejection.message.contains("between 0 and 185000"),
            "{}",
            rejection.message
        );
    }

    #[test]
    fn negative_listened_time_is_out_of_range() {
        let mut event = play();
        event.listened_ms = Some(-1);
        assert_eq!(reject(&event).reason, Reason::OutOfRange);
    }

    #[test]
    fn mood_must_lie_between_one_and_nine() {
        let mut event = play();
        event.action = Action::MoodCheckin;
        (
            event.track_id,
            event.position,
            event.listened_ms,
            event.track_duration_ms,
        ) = (None, None, None, None);
        event.mood_valence = Some(9);
        event.mood_arousal = Some(1);
        assert_eq!(validate(&event, &Limits::default(), now()), Ok(()));

        event.mood_arousal = Some(10);
        let rejection = reject(&event);
        assert_eq!(
            (rejection.reason, rejection.field.as_deref()),
            (Reason::OutOfRange, Some("mood_arousal"))
        );

        event.mood_arousal = None;
        assert_eq!(reject(&event).reason, Reason::MissingField);
    }

    #[test]
    fn track_fields_are_refused_on_session_start() {
        let mut event = play();
        event.action = Action::SessionStart;
        let rejection = reject(&event);
        assert_eq!(rejection.reason, Reason::FieldNotAllowed);
        assert_eq!(rejection.field.as_deref(), Some("track_id"));
    }

    #[test]
    fn mood_on_a_play_is_refused() {
        let mut event = play();
        event.mood_valence = Some(5);
        assert_eq!(reject(&event).reason, Reason::FieldNotAllowed);
    }

    #[test]
    fn event_time_bounds_follow_the_limits() {
        let limits = Limits::default();
        let mut event = play();

        event.event_time = now() + chrono::Duration::seconds(300);
        assert_eq!(validate(&event, &limits, now()), Ok(()));
        event.event_time = now() + chrono::Duration::seconds(301);
        assert_eq!(reject(&event).reason, Reason::EventTimeInFuture);

        event.event_time = now() - chrono::Duration::days(7);
        assert_eq!(validate(&event, &limits, now()), Ok(()));
        event.event_time = now() - chrono::Duration::days(7) - chrono::Duration::seconds(1);
        assert_eq!(reject(&event).reason, Reason::EventTimeTooOld);
    }

    #[test]
    fn ids_with_spaces_are_invalid() {
        let mut event = play();
        event.session_id = "s 1".into();
        let rejection = reject(&event);
        assert_eq!(
            (rejection.reason, rejection.field.as_deref()),
            (Reason::InvalidValue, Some("session_id"))
        );
    }
}
