//! Observations: a listening event joined with its track's catalog attributes, and the values
//! features read from it.
//!
//! A field an event lacks reads as `None` (`listened_ratio` on a `session_start`, a track field
//! without catalog attributes), and such an event does not contribute to features of that field.
//! Values that are not finite read as `None` too, so no NaN reaches a tile.

use std::borrow::Cow;

use lucid_events::{Action, ListeningEvent};

use crate::spec::{EntityType, Field};

/// Catalog attributes of a track, joined by the caller.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TrackAttrs {
    /// Perceived intensity, 0-1.
    pub energy: f64,
    /// Musical positiveness, 0-1.
    pub valence: f64,
    /// Beats per minute.
    pub tempo: f64,
    /// Suitability for dancing, 0-1.
    pub danceability: f64,
    /// Confidence that the track is acoustic, 0-1.
    pub acousticness: f64,
    /// `Some(true)` for hip-hop, `Some(false)` for rock, `None` when unknown.
    pub genre_hiphop: Option<bool>,
}

/// What the feature store reads from one event.
#[derive(Debug, Clone, PartialEq)]
pub struct Observation {
    event_time: i64,
    action: Action,
    tiebreak: i64,
    session_id: String,
    user_pseudonym: String,
    track_id: Option<i64>,
    position: Option<i32>,
    listened_ms: Option<i64>,
    track_duration_ms: Option<i64>,
    mood_valence: Option<i32>,
    mood_arousal: Option<i32>,
    track: Option<TrackAttrs>,
}

impl Observation {
    /// The observation of `event`; `attrs` are ignored when the event names no track.
    pub fn from_event(event: &ListeningEvent, attrs: Option<&TrackAttrs>) -> Self {
        Observation {
            event_time: event.event_time,
            action: event.action,
            tiebreak: tiebreak(&event.event_id),
            session_id: event.session_id.clone(),
            user_pseudonym: event.user_pseudonym.clone(),
            track_id: event.track_id,
            position: event.position,
            listened_ms: event.listened_ms,
            track_duration_ms: event.track_duration_ms,
            mood_valence: event.mood_valence,
            mood_arousal: event.mood_arousal,
            track: attrs.copied().filter(|_| event.track_id.is_some()),
        }
    }

    /// When the event happened, epoch milliseconds.
    pub fn event_time(&self) -> i64 {
        self.event_time
    }

    /// What the listener did.
    pub fn action(&self) -> Action {
        self.action
    }

    /// Orders events with the same event time for `last`, whatever order they arrive in.
    ///
    /// The 64-bit FNV-1a hash of the event id shifted down to 53 bits, so that a Lua script
    /// comparing it as a double compares it exactly.
    pub fn tiebreak(&self) -> i64 {
        self.tiebreak
    }

    /// The key of the entity of `entity` type that the event is about, if it names one.
    pub fn entity_key(&self, entity: EntityType) -> Option<Cow<'_, str>> {
        match entity {
            EntityType::Session => Some(Cow::Borrowed(&self.session_id)),
            EntityType::User => Some(Cow::Borrowed(&self.user_pseudonym)),
            EntityType::Track => self.track_id.map(|id| Cow::Owned(id.to_string())),
        }
    }

    /// The value of `field`, `None` when the event lacks it.
    pub fn value(&self, field: Field) -> Option<f64> {
        let track = self.track.as_ref();
        let value = match field {
            Field::ListenedMs => self.listened_ms.map(|v| v as f64),
            Field::ListenedRatio => match (self.listened_ms, self.track_duration_ms) {
                (Some(heard), Some(length)) if length > 0 => Some(heard as f64 / length as f64),
                _ => None,
            },
            Field::TrackDurationMs => self.track_duration_ms.map(|v| v as f64),
            Field::Position => self.position.map(f64::from),
            Field::MoodValence => self.mood_valence.map(f64::from),
            Field::MoodArousal => self.mood_arousal.map(f64::from),
            Field::TrackEnergy => track.map(|t| t.energy),
            Field::TrackValence => track.map(|t| t.valence),
            Field::TrackTempo => track.map(|t| t.tempo),
            Field::TrackDanceability => track.map(|t| t.danceability),
            Field::TrackAcousticness => track.map(|t| t.acousticness),
            Field::TrackGenreHiphop => track
                .and_then(|t| t.genre_hiphop)
                .map(|h| if h { 1.0 } else { 0.0 }),
        };
        // Adding +0.0 turns −0.0 into +0.0, so that min and max see one zero.
        value.filter(|v| v.is_finite()).map(|v| v + 0.0)
    }
}

/// FNV-1a, 64 bits, of `id`, keeping the top 53 bits.
fn tiebreak(id: &str) -> i64 {
    (fnv1a(id.as_bytes()) >> 11) as i64
}

fn fnv1a(bytes: &[u8]) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    bytes
        .iter()
        .fold(OFFSET, |hash, b| (hash ^ u64::from(*b)).wrapping_mul(PRIME))
}

#[cfg(test)]
mod tests {
    use lucid_events::{Context, Platform};

    use super::*;

    fn skip() -> ListeningEvent {
        ListeningEvent {
            event_id: "e-1".into(),
            user_pseudonym: "ab12".into(),
            session_id: "s-1".into(),
            event_time: 1_000,
            ingest_time: 1_200,
            action: Action::Skip,
            track_id: Some(42),
            position: Some(3),
            listened_ms: Some(30_000),
            track_duration_ms: Some(120_000),
            context: Context::Playlist,
            platform: Platform::Ios,
            app_version: "5.1.0".into(),
            mood_valence: None,
            mood_arousal: None,
        }
    }

    const ATTRS: TrackAttrs = TrackAttrs {
        energy: 0.8,
        valence: 0.25,
        tempo: 120.5,
        danceability: 0.5,
        acousticness: 0.125,
        genre_hiphop: Some(false),
    };

    #[test]
    fn fnv1a_matches_the_published_test_vectors() {
        assert_eq!(fnv1a(b""), 0xcbf2_9ce4_8422_2325);
        assert_eq!(fnv1a(b"a"), 0xaf63_dc4c_8601_ec8c);
        assert_eq!(fnv1a(b"foobar"), 0x8594_4171_f739_67e8);
        assert_eq!(tiebreak("a"), (0xaf63_dc4c_8601_ec8c_u64 >> 11) as i64);
        assert!(tiebreak("foobar") < 1 << 53);
    }

    #[test]
    fn fields_read_from_the_event_and_the_track() {
        let obs = Observation::from_event(&skip(), Some(&ATTRS));
        // 30 000 / 120 000 = 0.25.
        assert_eq!(obs.value(Field::ListenedRatio), Some(0.25));
        assert_eq!(obs.value(Field::ListenedMs), Some(30_000.0));
        assert_eq!(obs.value(Field::Position), Some(3.0));
        assert_eq!(obs.value(Field::TrackTempo), Some(120.5));
        assert_eq!(obs.value(Field::TrackGenreHiphop), Some(0.0));
        assert_eq!(obs.value(Field::MoodValence), None);
        assert_eq!(obs.entity_key(EntityType::Track).as_deref(), Some("42"));
        assert_eq!(obs.entity_key(EntityType::User).as_deref(), Some("ab12"));
    }

    #[test]
    fn absent_fields_read_as_none() {
        let no_attrs = Observation::from_event(&skip(), None);
        assert_eq!(no_attrs.value(Field::TrackEnergy), None);

        let unknown_genre = TrackAttrs {
            genre_hiphop: None,
            ..ATTRS
        };
        let obs = Observation::from_event(&skip(), Some(&unknown_genre));
        assert_eq!(obs.value(Field::TrackGenreHiphop), None);

        let mut start = skip();
        start.action = Action::SessionStart;
        (
            start.track_id,
            start.position,
            start.listened_ms,
            start.track_duration_ms,
        ) = (None, None, None, None);
        let obs = Observation::from_event(&start, Some(&ATTRS));
        assert_eq!(obs.value(Field::ListenedRatio), None);
        assert_eq!(
            obs.value(Field::TrackEnergy),
            None,
            "attrs without a track are ignored"
        );
        assert_eq!(obs.entity_key(EntityType::Track), None);
    }

    #[test]
    fn non_finite_values_are_dropped() {
        let odd = TrackAttrs {
            tempo: f64::NAN,
            energy: f64::INFINITY,
            ..ATTRS
        };
        let obs = Observation::from_event(&skip(), Some(&odd));
        assert_eq!(obs.value(Field::TrackTempo), None);
        assert_eq!(obs.value(Field::TrackEnergy), None);
    }
}
