//! The enumerations shared by the JSON input and the Avro records.
//!
//! JSON uses snake_case names (`mood_checkin`); Avro uses the schema's upper-case symbols
//! (`MOOD_CHECKIN`). Both are derived from one list so they cannot drift apart.

use serde::{Deserialize, Serialize};

macro_rules! symbols {
    ($(#[$doc:meta])* $name:ident { $($(#[$vdoc:meta])* $variant:ident = $json:literal / $avro:literal),+ $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
        pub enum $name {
            $($(#[$vdoc])* #[serde(rename = $json)] $variant),+
        }

        impl $name {
            /// Every value, in the order of the Avro schema's symbols.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The name used in JSON.
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $json),+ }
            }

            /// The Avro enum symbol.
            pub fn avro_symbol(self) -> &'static str {
                match self { $($name::$variant => $avro),+ }
            }

            /// The index of the Avro enum symbol.
            pub fn avro_index(self) -> u32 {
                Self::ALL.iter().position(|v| *v == self).unwrap_or(0) as u32
            }

            /// The value for an Avro enum symbol, if it is one of ours.
            pub fn from_avro_symbol(symbol: &str) -> Option<Self> {
                match symbol { $($avro => Some($name::$variant),)+ _ => None }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

symbols! {
    /// What the listener did.
    Action {
        /// The listener opened a listening session.
        SessionStart = "session_start" / "SESSION_START",
        /// A track started playing.
        Play = "play" / "PLAY",
        /// The listener skipped the track before its end.
        Skip = "skip" / "SKIP",
        /// Playback paused.
        Pause = "pause" / "PAUSE",
        /// Playback resumed after a pause.
        Resume = "resume" / "RESUME",
        /// The track played to its end.
        Complete = "complete" / "COMPLETE",
        /// The session ended.
        SessionEnd = "session_end" / "SESSION_END",
        /// The listener reported mood (valence and arousal, 1-9).
        MoodCheckin = "mood_checkin" / "MOOD_CHECKIN",
    }
}

symbols! {
    /// Where playback was started from.
    Context {
        /// A playlist, the listener's or an editorial one.
        Playlist = "playlist" / "PLAYLIST",
        /// Radio built from a seed.
        Radio = "radio" / "RADIO",
        /// A search result.
        Search = "search" / "SEARCH",
        /// A guided therapy programme.
        TherapyProgram = "therapy_program" / "THERAPY_PROGRAM",
        /// An album page.
        Album = "album" / "ALBUM",
        /// An artist page.
        Artist = "artist" / "ARTIST",
        /// A personalised recommendation.
        Recommendation = "recommendation" / "RECOMMENDATION",
        /// Anything else.
        Other = "other" / "OTHER",
    }
}

symbols! {
    /// Device platform.
    Platform {
        /// Apple iOS.
        Ios = "ios" / "IOS",
        /// Android.
        Android = "android" / "ANDROID",
        /// The web player.
        Web = "web" / "WEB",
        /// Anything else.
        Other = "other" / "OTHER",
    }
}

impl Action {
    /// True for the actions that refer to a track (and so carry track fields).
    pub fn is_track_action(self) -> bool {
        matches!(
            self,
            Action::Play | Action::Skip | Action::Pause | Action::Resume | Action::Complete
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn avro_indexes_follow_schema_order() {
        assert_eq!(Action::SessionStart.avro_index(), 0);
        assert_eq!(Action::MoodCheckin.avro_index(), 7);
        assert_eq!(Context::Other.avro_index(), 7);
        assert_eq!(Platform::Web.avro_index(), 2);
    }

    #[test]
    fn json_and_avro_names_round_trip() {
        for a in Action::ALL {
            assert_eq!(Action::from_avro_symbol(a.avro_symbol()), Some(*a));
            let json = serde_json::to_string(a).expect("serialises");
            assert_eq!(json, format!("\"{}\"", a.as_str()));
        }
        assert_eq!(Context::from_avro_symbol("NOT_A_CONTEXT"), None);
    }
}
