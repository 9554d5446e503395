//! A synthetic catalog whose three genre groups (rock, hip-hop, unknown) hold identical
//! features, listens and durations, so genre preference alone decides the genre mix of plays.

use chrono::{DateTime, TimeDelta, Utc};
use lucid_catalog::{Catalog, Genre, Track};
use lucid_simulator::{Scenario, SimConfig};

/// Tracks per genre group: a 10 × 10 grid of valence and energy.
pub const PER_GROUP: i64 = 100;

/// 300 tracks: ids 3j (rock), 3j + 1 (hip-hop), 3j + 2 (unknown genre) share grid cell j.
pub fn catalog() -> Catalog {
    let groups = [Some(Genre::Rock), Some(Genre::HipHop), None];
    let tracks = (0..PER_GROUP)
        .flat_map(|j| {
            groups.into_iter().enumerate().map(move |(g, genre)| Track {
                id: 3 * j + g as i64,
                acousticness: 0.5,
                danceability: 0.5,
                energy: ((j / 10) as f64 + 0.5) / 10.0,
                instrumentalness: 0.5,
                liveness: 0.2,
                speechiness: 0.1,
                tempo: 120.0,
                valence: ((j % 10) as f64 + 0.5) / 10.0,
                genre,
                // Every fourth cell has no duration, to exercise the 2:00-5:00 rule.
                duration_ms: (j % 4 != 0).then_some(150_000 + j * 1_000),
                listens: Some(100 + (j * 37) as u64 % 400),
            })
        })
        .collect();
    Catalog::from_tracks(tracks).expect("synthetic ids are unique")
}

/// Midnight UTC, so that the span covers whole days.
pub fn end() -> DateTime<Utc> {
    "2026-12-03T00:00:00Z".parse().expect("valid time")
}

/// An 8-day run of 3,000 sessions by 400 base listeners.
pub fn config(scenario: Scenario, seed: u64) -> SimConfig {
    SimConfig {
        scenario,
        seed,
        listeners: 400,
        sessions: 3_000,
        ..SimConfig::ending_at(end(), TimeDelta::days(8))
    }
}
