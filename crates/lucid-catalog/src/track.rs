//! One track of the catalog and its top-level genre.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// A track: Echo Nest audio features, plus what the FMA metadata knows about it.
///
/// The eight features come from `echonest-metrics.json` and are known for every track. Genre,
/// duration and listens come from `fma-rock-vs-hiphop.csv`, which covers only part of the
/// catalog, so they are optional.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Track {
    /// FMA track id, the key shared by both files and by listening events.
    pub id: i64,
    /// Confidence that the track is acoustic, 0-1.
    pub acousticness: f64,
    /// How suitable the track is for dancing, 0-1.
    pub danceability: f64,
    /// Perceived intensity and activity, 0-1.
    pub energy: f64,
    /// Confidence that the track has no vocals, 0-1.
    pub instrumentalness: f64,
    /// Confidence that the track was recorded live, 0-1.
    pub liveness: f64,
    /// Share of spoken words, 0-1.
    pub speechiness: f64,
    /// Estimated tempo in beats per minute.
    pub tempo: f64,
    /// Musical positiveness, 0 (sad, angry) to 1 (happy, cheerful).
    pub valence: f64,
    /// Top-level genre, when the metadata file lists the track.
    pub genre: Option<Genre>,
    /// Length in milliseconds, when the metadata file lists the track.
    pub duration_ms: Option<i64>,
    /// Lifetime listen count on FMA, when the metadata file lists the track.
    pub listens: Option<u64>,
}

/// The two top-level genres the metadata file distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Genre {
    /// FMA genre_top `Rock`.
    Rock,
    /// FMA genre_top `Hip-Hop`.
    HipHop,
}

impl Genre {
    /// Both genres, rock first.
    pub const ALL: [Genre; 2] = [Genre::Rock, Genre::HipHop];

    /// The platform's name for the genre: `rock` or `hip_hop`.
    pub fn as_str(self) -> &'static str {
        match self {
            Genre::Rock => "rock",
            Genre::HipHop => "hip_hop",
        }
    }

    /// Reads FMA's spelling in the `genre_top` column (`Rock`, `Hip-Hop`).
    pub fn from_fma(value: &str) -> Option<Genre> {
        match value {
            "Rock" => Some(Genre::Rock),
            "Hip-Hop" => Some(Genre::HipHop),
            _ => None,
        }
    }
}

impl fmt::Display for Genre {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing a genre name that is neither `rock` nor `hip_hop`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown genre {0:?}; expected rock or hip_hop")]
pub struct UnknownGenre(pub String);

impl FromStr for Genre {
    type Err = UnknownGenre;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Genre::ALL
            .into_iter()
            .find(|genre| genre.as_str() == s)
            .ok_or_else(|| UnknownGenre(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn genre_names_round_trip() {
        for genre in Genre::ALL {
            assert_eq!(genre.as_str().parse::<Genre>(), Ok(genre));
            let json = serde_json::to_string(&genre).expect("serialises");
            assert_eq!(json, format!("\"{genre}\""));
        }
        assert_eq!("hip_hop".parse::<Genre>(), Ok(Genre::HipHop));
        assert_eq!("jazz".parse::<Genre>(), Err(UnknownGenre("jazz".into())));
    }

    #[test]
    fn fma_spellings_map_to_genres() {
        assert_eq!(Genre::from_fma("Rock"), Some(Genre::Rock));
        assert_eq!(Genre::from_fma("Hip-Hop"), Some(Genre::HipHop));
        assert_eq!(Genre::from_fma("hip_hop"), None);
        assert_eq!(Genre::from_fma(""), None);
    }
}
