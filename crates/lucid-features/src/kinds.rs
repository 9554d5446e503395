//! The vocabulary of feature definitions: entity types, the fields read from events, and sets
//! of actions.

use std::fmt;

use lucid_events::Action;

/// What features are kept about, each keyed by one field of the event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum EntityType {
    /// A listening session, keyed by `session_id`.
    Session,
    /// A listener, keyed by `user_pseudonym`.
    User,
    /// A catalog track, keyed by `track_id` written in decimal.
    Track,
}

impl EntityType {
    /// Every entity type.
    pub const ALL: [EntityType; 3] = [EntityType::Session, EntityType::User, EntityType::Track];

    /// The name used in definitions and in Redis keys.
    pub fn as_str(self) -> &'static str {
        match self {
            EntityType::Session => "session",
            EntityType::User => "user",
            EntityType::Track => "track",
        }
    }

    /// The entity type with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|e| e.as_str() == name)
    }
}

/// A number read from an observation for `sum`, `mean`, `min`, `max` and `last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Field {
    /// Milliseconds heard.
    ListenedMs,
    /// `listened_ms / track_duration_ms`.
    ListenedRatio,
    /// Track length in milliseconds.
    TrackDurationMs,
    /// Position of the track in the session.
    Position,
    /// Mood valence 1-9 of a check-in.
    MoodValence,
    /// Mood arousal 1-9 of a check-in.
    MoodArousal,
    /// Catalog energy, 0-1.
    TrackEnergy,
    /// Catalog valence, 0-1.
    TrackValence,
    /// Catalog tempo in beats per minute.
    TrackTempo,
    /// Catalog danceability, 0-1.
    TrackDanceability,
    /// Catalog acousticness, 0-1.
    TrackAcousticness,
    /// 1 for hip-hop, 0 for rock, absent when the genre is unknown.
    TrackGenreHiphop,
}

impl Field {
    /// Every field.
    pub const ALL: [Field; 12] = [
        Field::ListenedMs,
        Field::ListenedRatio,
        Field::TrackDurationMs,
        Field::Position,
        Field::MoodValence,
        Field::MoodArousal,
        Field::TrackEnergy,
        Field::TrackValence,
        Field::TrackTempo,
        Field::TrackDanceability,
        Field::TrackAcousticness,
        Field::TrackGenreHiphop,
    ];

    /// The name used in definitions.
    pub fn as_str(self) -> &'static str {
        match self {
            Field::ListenedMs => "listened_ms",
            Field::ListenedRatio => "listened_ratio",
            Field::TrackDurationMs => "track_duration_ms",
            Field::Position => "position",
            Field::MoodValence => "mood_valence",
            Field::MoodArousal => "mood_arousal",
            Field::TrackEnergy => "track.energy",
            Field::TrackValence => "track.valence",
            Field::TrackTempo => "track.tempo",
            Field::TrackDanceability => "track.danceability",
            Field::TrackAcousticness => "track.acousticness",
            Field::TrackGenreHiphop => "track.genre_hiphop",
        }
    }

    /// The field with this name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Units per 1.0 in which sums of this field are kept, so that they are exact integers.
    ///
    /// Integer fields are summed as they are; fractional ones in millionths, which holds the
    /// catalog's six decimals exactly. Integer sums make every order and split of the same events
    /// give the same bits, in memory and in Redis (`HINCRBY`) alike.
    pub fn scale(self) -> i64 {
        match self {
            Field::ListenedMs
            | Field::TrackDurationMs
            | Field::Position
            | Field::MoodValence
            | Field::MoodArousal => 1,
            _ => 1_000_000,
        }
    }
}

/// A set of actions: a feature's filter, or a term of a ratio.
#[derive(Clone, Copy, PartialEq, Eq, Default)]
pub struct Actions(u16);

impl Actions {
    /// The set holding `actions`.
    pub fn of(actions: &[Action]) -> Self {
        Actions(actions.iter().fold(0, |bits, a| bits | bit(*a)))
    }

    /// Whether `action` is in the set.
    pub fn contains(self, action: Action) -> bool {
        self.0 & bit(action) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The actions in the set, in schema order.
    pub fn iter(self) -> impl Iterator<Item = Action> {
        Action::ALL
            .iter()
            .copied()
            .filter(move |a| self.contains(*a))
    }
}

fn bit(action: Action) -> u16 {
    1 << action.avro_index()
}

impl fmt::Debug for Actions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set()
            .entries(self.iter().map(Action::as_str))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn action_sets_hold_exactly_their_members() {
        let set = Actions::of(&[Action::Skip, Action::Complete]);
        assert!(set.contains(Action::Skip) && set.contains(Action::Complete));
        assert!(!set.contains(Action::Play));
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Action::Skip, Action::Complete]
        );
        assert_eq!(format!("{set:?}"), r#"{"skip", "complete"}"#);
        assert!(Actions::of(&[]).is_empty());
    }

    #[test]
    fn names_round_trip() {
        for field in Field::ALL {
            assert_eq!(Field::from_name(field.as_str()), Some(field));
        }
        for entity in EntityType::ALL {
            assert_eq!(EntityType::from_name(entity.as_str()), Some(entity));
        }
        assert_eq!(Field::from_name("track.genre"), None);
    }

    #[test]
    fn integer_fields_are_summed_unscaled() {
        assert_eq!(Field::ListenedMs.scale(), 1);
        assert_eq!(Field::MoodValence.scale(), 1);
        assert_eq!(Field::TrackEnergy.scale(), 1_000_000);
        assert_eq!(Field::ListenedRatio.scale(), 1_000_000);
    }
}
