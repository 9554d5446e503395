//! Builders shared by the unit tests.

use lucid_events::{Action, Context, ListeningEvent, Platform};

use crate::observation::Observation;
use crate::spec::Registry;

/// Sessions of one hour (5-minute tiles) and lifetime; tracks over ten minutes (50-second tiles).
pub(crate) const DEFINITIONS: &str = r#"
[[view]]
name = "s"
entity = "session"
max_age = "1h"

[[view.feature]]
name = "plays"
aggregation = "count"
actions = ["play"]
window = "1h"

[[view.feature]]
name = "heard"
aggregation = "mean"
field = "listened_ratio"
actions = ["skip"]
window = "1h"

[[view.feature]]
name = "mood"
aggregation = "last"
field = "mood_valence"
window = "lifetime"

[[view]]
name = "t"
entity = "track"
max_age = "1h"

[[view.feature]]
name = "plays"
aggregation = "count"
actions = ["play"]
window = "10m"
"#;

pub(crate) fn registry() -> Registry {
    Registry::from_toml(DEFINITIONS).expect("the test definitions are valid")
}

/// An event of session `s-1` by user `u-1`; track actions are about track 42, 200 s long.
pub(crate) fn event(id: &str, time: i64, action: Action) -> ListeningEvent {
    let track = action.is_track_action();
    ListeningEvent {
        event_id: id.into(),
        user_pseudonym: "u-1".into(),
        session_id: "s-1".into(),
        event_time: time,
        ingest_time: time,
        action,
        track_id: track.then_some(42),
        position: track.then_some(0),
        listened_ms: track.then_some(0),
        track_duration_ms: track.then_some(200_000),
        context: Context::Playlist,
        platform: Platform::Android,
        app_version: "5.1.0".into(),
        mood_valence: None,
        mood_arousal: None,
    }
}

/// A skip of track 42 after `listened_ms`.
pub(crate) fn skip(id: &str, time: i64, listened_ms: i64) -> Observation {
    let mut event = event(id, time, Action::Skip);
    event.listened_ms = Some(listened_ms);
    Observation::from_event(&event, None)
}

/// A play of track 42.
pub(crate) fn play(id: &str, time: i64) -> Observation {
    Observation::from_event(&event(id, time, Action::Play), None)
}

/// A mood check-in.
pub(crate) fn mood(id: &str, time: i64, valence: i32) -> Observation {
    let mut event = event(id, time, Action::MoodCheckin);
    (event.mood_valence, event.mood_arousal) = (Some(valence), Some(5));
    Observation::from_event(&event, None)
}
