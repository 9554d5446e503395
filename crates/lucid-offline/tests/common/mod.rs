//! Events for the tests, built field by field.

#![allow(dead_code)]

use lucid_events::{Action, Context, ListeningEvent, Platform};
use lucid_features::TrackAttrs;
use lucid_offline::LoggedEvent;

/// 2027-01-15T08:00:00Z.
pub const B: i64 = 1_800_000_000_000;

/// An on-time event of `action` in `session` (user `u-<session>`), with track fields when the
/// action is about a track.
pub fn event(
    id: &str,
    session: &str,
    t: i64,
    action: Action,
    track: Option<(i64, i32)>,
) -> LoggedEvent {
    let on_track = action.is_track_action();
    let track = track.filter(|_| on_track);
    LoggedEvent {
        event: ListeningEvent {
            event_id: id.into(),
            user_pseudonym: format!("u-{session}"),
            session_id: session.into(),
            event_time: t,
            ingest_time: t + 250,
            action,
            track_id: track.map(|(id, _)| id),
            position: track.map(|(_, p)| p),
            listened_ms: track.map(|_| 0),
            track_duration_ms: track.map(|_| 120_000),
            context: Context::Playlist,
            platform: Platform::Android,
            app_version: "5.2.0".into(),
            mood_valence: None,
            mood_arousal: None,
        },
        attrs: None,
        late: false,
        partition: 0,
        // Every event its own record: the reader drops a second copy of a (partition, offset).
        offset: NEXT_OFFSET.fetch_add(1, std::sync::atomic::Ordering::Relaxed),
    }
}

static NEXT_OFFSET: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// Catalog attributes with the given energy and valence.
pub fn attrs(energy: f64, valence: f64) -> TrackAttrs {
    TrackAttrs {
        energy,
        valence,
        tempo: 118.5,
        danceability: 0.625,
        acousticness: 0.0625,
        genre_hiphop: Some(true),
    }
}
