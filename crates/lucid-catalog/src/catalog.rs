//! The loaded catalog: tracks sorted by id, with an id index.

use std::collections::HashMap;
use std::path::Path;

use crate::{CatalogError, Genre, Track, echonest, fma};

/// File name of the Echo Nest features inside the catalog folder.
pub const FEATURES_FILE: &str = "echonest-metrics.json";
/// File name of the FMA metadata inside the catalog folder.
pub const METADATA_FILE: &str = "fma-rock-vs-hiphop.csv";

/// How the two files joined when the catalog was loaded.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JoinStats {
    /// Tracks in the features file; each becomes a catalog track.
    pub feature_tracks: usize,
    /// Rows in the metadata file.
    pub metadata_rows: usize,
    /// Feature tracks that found a metadata row with the same id.
    pub matched: usize,
}

/// The track catalog, read-only once loaded.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    tracks: Vec<Track>,
    index: HashMap<i64, usize>,
    stats: JoinStats,
}

impl Catalog {
    /// Loads `echonest-metrics.json` and `fma-rock-vs-hiphop.csv` from `dir` and joins them.
    ///
    /// Every track of the features file becomes a catalog track; metadata rows whose id has no
    /// features are dropped, because the simulator and the model need the features.
    pub fn load(dir: impl AsRef<Path>) -> Result<Catalog, CatalogError> {
        let dir = dir.as_ref();
        let mut tracks = echonest::read(&dir.join(FEATURES_FILE))?;
        let metadata = fma::read(&dir.join(METADATA_FILE))?;

        let mut matched = 0;
        for track in &mut tracks {
            if let Some(meta) = metadata.get(&track.id) {
                track.genre = meta.genre;
                track.duration_ms = meta.duration_ms;
                track.listens = meta.listens;
                matched += 1;
            }
        }

        let stats = JoinStats {
            feature_tracks: tracks.len(),
            metadata_rows: metadata.len(),
            matched,
        };
        let mut catalog = Catalog::from_tracks(tracks)?;
        catalog.stats = stats;
        Ok(catalog)
    }

    /// Builds a catalog from tracks in memory (tests, synthetic catalogs).
    ///
    /// The tracks are sorted by id; a repeated id is refused. The join stats count every track
    /// as a feature track, and those with a genre, duration or listens as matched metadata rows.
    pub fn from_tracks(mut tracks: Vec<Track>) -> Result<Catalog, CatalogError> {
        tracks.sort_by_key(|track| track.id);

        let mut index = HashMap::with_capacity(tracks.len());
        for (position, track) in tracks.iter().enumerate() {
            if index.insert(track.id, position).is_some() {
                return Err(CatalogError::Invalid(format!(
                    "track {} appears twice",
                    track.id
                )));
            }
        }

        let has_metadata =
            |t: &&Track| t.genre.is_some() || t.duration_ms.is_some() || t.listens.is_some();
        let matched = tracks.iter().filter(has_metadata).count();
        let stats = JoinStats {
            feature_tracks: tracks.len(),
            metadata_rows: matched,
            matched,
        };
        Ok(Catalog {
            tracks,
            index,
            stats,
        })
    }

    /// The track with this id, if the catalog has it.
    pub fn get(&self, id: i64) -> Option<&Track> {
        self.index.get(&id).map(|&position| &self.tracks[position])
    }

    /// All tracks, sorted by id.
    pub fn tracks(&self) -> &[Track] {
        &self.tracks
    }

    /// Number of tracks.
    pub fn len(&self) -> usize {
        self.tracks.len()
    }

    /// True when the catalog has no track.
    pub fn is_empty(&self) -> bool {
        self.tracks.is_empty()
    }

    /// How the files joined.
    pub fn stats(&self) -> JoinStats {
        self.stats
    }

    /// Number of tracks of a genre.
    pub fn genre_count(&self, genre: Genre) -> usize {
        self.tracks
            .iter()
            .filter(|track| track.genre == Some(genre))
            .count()
    }
}

#[cfg(test)]
mod tests {
    use std::fs;
    use std::path::PathBuf;

    use super::*;

    const FEATURES: &str = r#"{
        "track_id": {"0": 2, "1": 3, "2": 5},
        "acousticness": {"0": 0.4, "1": 0.3, "2": 0.2},
        "danceability": {"0": 0.6, "1": 0.5, "2": 0.4},
        "energy": {"0": 0.7, "1": 0.8, "2": 0.9},
        "instrumentalness": {"0": 0.1, "1": 0.2, "2": 0.3},
        "liveness": {"0": 0.15, "1": 0.25, "2": 0.35},
        "speechiness": {"0": 0.3, "1": 0.2, "2": 0.1},
        "tempo": {"0": 165.9, "1": 126.9, "2": 100.3},
        "valence": {"0": 0.57, "1": 0.26, "2": 0.62}
    }"#;

    /// Track 3 is missing; track 99 has metadata but no features.
    const METADATA: &str = "\
track_id,information,duration,genre_top,listens
2,\"a note
over two lines\",168,Hip-Hop,1293
5,,206,Rock,1151
99,,300,Rock,7
";

    /// A scratch folder unique to this test process and test.
    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("lucid-catalog-{}-{name}", std::process::id()));
        fs::create_dir_all(&dir).expect("create scratch folder");
        dir
    }

    fn write_catalog(name: &str, features: &str, metadata: &str) -> PathBuf {
        let dir = scratch(name);
        fs::write(dir.join(FEATURES_FILE), features).expect("write features");
        fs::write(dir.join(METADATA_FILE), metadata).expect("write metadata");
        dir
    }

    #[test]
    fn joins_metadata_onto_feature_tracks_by_id() {
        let dir = write_catalog("join", FEATURES, METADATA);
        let catalog = Catalog::load(&dir).expect("loads");
        fs::remove_dir_all(&dir).expect("clean up");

        assert_eq!(catalog.len(), 3);
        assert_eq!(
            catalog.stats(),
            JoinStats {
                feature_tracks: 3,
                metadata_rows: 3,
                matched: 2
            }
        );

        let two = catalog.get(2).expect("track 2");
        assert_eq!(two.genre, Some(Genre::HipHop));
        assert_eq!(two.duration_ms, Some(168_000));
        assert_eq!(two.listens, Some(1293));
        assert_eq!(two.valence, 0.57);

        let three = catalog.get(3).expect("track 3 has features only");
        assert_eq!(
            (three.genre, three.duration_ms, three.listens),
            (None, None, None)
        );

        assert!(
            catalog.get(99).is_none(),
            "metadata without features is dropped"
        );
        assert_eq!(catalog.genre_count(Genre::Rock), 1);
        assert_eq!(
            catalog.tracks().iter().map(|t| t.id).collect::<Vec<_>>(),
            [2, 3, 5]
        );
    }

    #[test]
    fn missing_file_names_it_and_the_fetch_script() {
        let dir = scratch("missing");
        fs::write(dir.join(FEATURES_FILE), FEATURES).expect("write features");
        let _ = fs::remove_file(dir.join(METADATA_FILE));

        let error = Catalog::load(&dir).expect_err("metadata missing");
        fs::remove_dir_all(&dir).expect("clean up");

        assert!(matches!(error, CatalogError::Missing { .. }), "{error:?}");
        let message = error.to_string();
        assert!(message.contains(METADATA_FILE), "{message}");
        assert!(message.contains("scripts/fetch-data"), "{message}");
    }

    #[test]
    fn bad_json_names_the_features_file() {
        let dir = write_catalog("bad-json", "{\"track_id\": [", METADATA);
        let error = Catalog::load(&dir).expect_err("bad json");
        fs::remove_dir_all(&dir).expect("clean up");

        assert!(matches!(error, CatalogError::Json { .. }), "{error:?}");
        assert!(error.to_string().contains(FEATURES_FILE), "{error}");
    }

    #[test]
    fn bad_csv_row_names_the_metadata_file_and_line() {
        let metadata = METADATA.replace("206,Rock", "206,Jazz");
        let dir = write_catalog("bad-row", FEATURES, &metadata);
        let error = Catalog::load(&dir).expect_err("bad row");
        fs::remove_dir_all(&dir).expect("clean up");

        let message = error.to_string();
        assert!(message.contains(METADATA_FILE), "{message}");
        assert!(message.contains("line 4: genre_top \"Jazz\""), "{message}");
    }

    #[test]
    fn from_tracks_refuses_a_repeated_id() {
        let dir = write_catalog("repeat", FEATURES, METADATA);
        let catalog = Catalog::load(&dir).expect("loads");
        fs::remove_dir_all(&dir).expect("clean up");

        let mut tracks = catalog.tracks().to_vec();
        tracks.push(tracks[0].clone());
        let error = Catalog::from_tracks(tracks).expect_err("repeated id");
        assert_eq!(error.to_string(), "invalid catalog: track 2 appears twice");
    }
}
