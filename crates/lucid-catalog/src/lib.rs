//! The track catalog the platform recommends from and the simulator plays.
//!
//! A catalog folder holds two files from FMA (the Free Music Archive dataset, CC BY 4.0; see
//! `scripts/fetch-data`, which downloads them and writes their attribution):
//!
//! - `echonest-metrics.json`: Echo Nest audio features (acousticness, danceability, energy,
//!   instrumentalness, liveness, speechiness, tempo, valence) for 13,129 tracks.
//! - `fma-rock-vs-hiphop.csv`: metadata for 17,734 rock and hip-hop tracks, of which the catalog
//!   reads `genre_top`, `duration` (seconds) and `listens` (lifetime listen count).
//!
//! # How the files join
//!
//! The features file is the base: each of its tracks becomes a [`Track`], because features are
//! what recommendations and the simulator's mood model need. A metadata row adds genre,
//! duration and listens to the track with the same `track_id`. In the published files 4,802
//! tracks match (3,892 rock, 910 hip-hop); the other 8,327 tracks have features only, so their
//! genre, duration and listens are `None`. The 12,932 metadata rows without features are
//! dropped. [`Catalog::stats`] reports these counts for whatever folder was loaded.
//!
//! Loading is strict: a missing file, JSON of the wrong shape, a feature outside its range, a bad
//! CSV row or a repeated id fails with a [`CatalogError`] naming the file and the row.

mod catalog;
mod echonest;
mod error;
mod fma;
mod track;

pub use catalog::{Catalog, FEATURES_FILE, JoinStats, METADATA_FILE};
pub use error::CatalogError;
pub use track::{Genre, Track, UnknownGenre};

/// Environment variable naming the catalog folder, read by the platform's config and `lucidctl`.
pub const CATALOG_DIR_ENV: &str = "LUCID_CATALOG_DIR";
