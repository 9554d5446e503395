//! Reads `echonest-metrics.json`, the Echo Nest audio features.
//!
//! The file is pandas' column-oriented JSON: one object per column, each mapping a row key
//! (`"0"`, `"1"`, ...) to that row's value. A row is a track once all nine columns are joined
//! on the row key.

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use serde::Deserialize;

use crate::{CatalogError, Track};

/// The columns the catalog needs; any other column is ignored.
#[derive(Deserialize)]
struct Columns {
    track_id: HashMap<String, i64>,
    acousticness: HashMap<String, f64>,
    danceability: HashMap<String, f64>,
    energy: HashMap<String, f64>,
    instrumentalness: HashMap<String, f64>,
    liveness: HashMap<String, f64>,
    speechiness: HashMap<String, f64>,
    tempo: HashMap<String, f64>,
    valence: HashMap<String, f64>,
}

/// Highest tempo accepted as plausible, in beats per minute.
const MAX_TEMPO: f64 = 1_000.0;

/// Reads the features file at `path` into tracks without metadata, sorted by id.
pub(crate) fn read(path: &Path) -> Result<Vec<Track>, CatalogError> {
    let file = File::open(path).map_err(|source| CatalogError::open(path.to_owned(), source))?;
    parse(BufReader::new(file), path)
}

/// Parses features JSON; `path` only names the source in errors.
pub(crate) fn parse(reader: impl Read, path: &Path) -> Result<Vec<Track>, CatalogError> {
    let columns: Columns =
        serde_json::from_reader(reader).map_err(|source| CatalogError::Json {
            path: path.to_owned(),
            source,
        })?;
    let bad = |message: String| CatalogError::BadValue {
        path: path.to_owned(),
        message,
    };

    let features = [
        ("acousticness", &columns.acousticness),
        ("danceability", &columns.danceability),
        ("energy", &columns.energy),
        ("instrumentalness", &columns.instrumentalness),
        ("liveness", &columns.liveness),
        ("speechiness", &columns.speechiness),
        ("tempo", &columns.tempo),
        ("valence", &columns.valence),
    ];
    for (name, column) in features {
        if let Some(row) = column
            .keys()
            .find(|row| !columns.track_id.contains_key(*row))
        {
            return Err(bad(format!("row {row} has a {name} value but no track_id")));
        }
    }

    let mut rows: Vec<(&String, i64)> = columns.track_id.iter().map(|(r, id)| (r, *id)).collect();
    rows.sort_by_key(|(_, id)| *id);

    let mut seen = HashSet::with_capacity(rows.len());
    let mut tracks = Vec::with_capacity(rows.len());
    for (row, id) in rows {
        if id < 0 {
            return Err(bad(format!("row {row} has a negative track_id {id}")));
        }
        if !seen.insert(id) {
            return Err(bad(format!("track {id} appears in more than one row")));
        }

        let mut values = [0.0; 8];
        for (slot, (name, column)) in values.iter_mut().zip(features) {
            let value = *column
                .get(row)
                .ok_or_else(|| bad(format!("row {row} (track {id}) has no {name} value")))?;
            let max = if name == "tempo" { MAX_TEMPO } else { 1.0 };
            if !(0.0..=max).contains(&value) {
                return Err(bad(format!(
                    "track {id} has {name} {value}; it must lie between 0 and {max}"
                )));
            }
            *slot = value;
        }
        tracks.push(with_features(id, values));
    }
    Ok(tracks)
}

fn with_features(id: i64, values: [f64; 8]) -> Track {
    let [
        acousticness,
        danceability,
        energy,
        instrumentalness,
        liveness,
        speechiness,
        tempo,
        valence,
    ] = values;
    Track {
        id,
        acousticness,
        danceability,
        energy,
        instrumentalness,
        liveness,
        speechiness,
        tempo,
        valence,
        genre: None,
        duration_ms: None,
        listens: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "features.json";

    /// Two rows whose keys are out of id order, and integers where floats are usual.
    const TWO_TRACKS: &str = r#"{
        "track_id": {"0": 10, "1": 2},
        "acousticness": {"0": 0.5, "1": 1},
        "danceability": {"0": 0.25, "1": 0.75},
        "energy": {"0": 0.9, "1": 0.1},
        "instrumentalness": {"0": 0, "1": 0.0},
        "liveness": {"0": 0.3, "1": 0.4},
        "speechiness": {"0": 0.05, "1": 0.06},
        "tempo": {"0": 120.5, "1": 88},
        "valence": {"0": 0.2, "1": 0.8},
        "extra_column": {"0": "ignored", "1": "ignored"}
    }"#;

    fn parse_str(text: &str) -> Result<Vec<Track>, CatalogError> {
        parse(text.as_bytes(), Path::new(PATH))
    }

    #[test]
    fn joins_columns_on_row_key_and_sorts_by_id() {
        let tracks = parse_str(TWO_TRACKS).expect("valid");
        assert_eq!(tracks.iter().map(|t| t.id).collect::<Vec<_>>(), [2, 10]);
        assert_eq!(tracks[0].energy, 0.1);
        assert_eq!(tracks[0].tempo, 88.0);
        assert_eq!(tracks[1].valence, 0.2);
        assert_eq!(tracks[1].acousticness, 0.5);
        assert_eq!(tracks[1].genre, None);
    }

    #[test]
    fn missing_column_is_a_json_error_naming_it() {
        let text = TWO_TRACKS.replace("\"energy\"", "\"energy_level\"");
        let error = parse_str(&text).expect_err("no energy column");
        assert!(matches!(error, CatalogError::Json { .. }), "{error:?}");
        let message = error.to_string();
        assert!(
            message.starts_with("features.json is not valid"),
            "{message}"
        );
        assert!(message.contains("missing field `energy`"), "{message}");
    }

    #[test]
    fn truncated_json_reports_the_file() {
        let error = parse_str(&TWO_TRACKS[..40]).expect_err("truncated");
        assert!(error.to_string().contains("features.json"), "{error}");
    }

    #[test]
    fn missing_cell_names_row_and_track() {
        let text = TWO_TRACKS.replace(
            r#""valence": {"0": 0.2, "1": 0.8}"#,
            r#""valence": {"0": 0.2}"#,
        );
        let error = parse_str(&text).expect_err("missing cell");
        assert_eq!(
            error.to_string(),
            "features.json: row 1 (track 2) has no valence value"
        );
    }

    #[test]
    fn out_of_range_feature_is_refused() {
        let text = TWO_TRACKS.replace(r#""energy": {"0": 0.9"#, r#""energy": {"0": 1.5"#);
        let error = parse_str(&text).expect_err("energy above 1");
        assert_eq!(
            error.to_string(),
            "features.json: track 10 has energy 1.5; it must lie between 0 and 1"
        );
    }

    #[test]
    fn duplicate_track_id_is_refused() {
        let text = TWO_TRACKS.replace(r#"{"0": 10, "1": 2}"#, r#"{"0": 2, "1": 2}"#);
        let error = parse_str(&text).expect_err("duplicate id");
        assert_eq!(
            error.to_string(),
            "features.json: track 2 appears in more than one row"
        );
    }

    #[test]
    fn null_value_is_refused() {
        let text = TWO_TRACKS.replace(r#""tempo": {"0": 120.5"#, r#""tempo": {"0": null"#);
        let error = parse_str(&text).expect_err("null tempo");
        assert!(error.to_string().contains("invalid type: null"), "{error}");
    }
}
