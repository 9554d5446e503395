//! Reads `fma-rock-vs-hiphop.csv`, the FMA track metadata.
//!
//! Only four of its 21 columns are used: `track_id`, `genre_top`, `duration` (seconds) and
//! `listens`. Free-text columns such as `information` hold quoted fields that span lines; the
//! csv reader handles those, and errors name the line a record starts on.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use csv::StringRecord;

use crate::{CatalogError, Genre};

/// What the metadata file says about one track.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Metadata {
    pub(crate) genre: Option<Genre>,
    pub(crate) duration_ms: Option<i64>,
    pub(crate) listens: Option<u64>,
}

/// Column positions of the fields the catalog reads.
struct Layout {
    track_id: usize,
    genre_top: usize,
    duration: usize,
    listens: usize,
}

/// Reads the metadata file at `path`, keyed by track id.
pub(crate) fn read(path: &Path) -> Result<HashMap<i64, Metadata>, CatalogError> {
    let file = File::open(path).map_err(|source| CatalogError::open(path.to_owned(), source))?;
    parse(BufReader::new(file), path)
}

/// Parses metadata CSV; `path` only names the source in errors.
pub(crate) fn parse(
    reader: impl Read,
    path: &Path,
) -> Result<HashMap<i64, Metadata>, CatalogError> {
    let csv_error = |message: String| CatalogError::Csv {
        path: path.to_owned(),
        message,
    };
    let mut reader = csv::Reader::from_reader(reader);

    let headers = reader
        .headers()
        .map_err(|error| csv_error(error.to_string()))?;
    let column = |name: &str| {
        headers
            .iter()
            .position(|header| header == name)
            .ok_or_else(|| csv_error(format!("the header has no {name} column")))
    };
    let layout = Layout {
        track_id: column("track_id")?,
        genre_top: column("genre_top")?,
        duration: column("duration")?,
        listens: column("listens")?,
    };

    let mut tracks = HashMap::new();
    let mut record = StringRecord::new();
    while reader
        .read_record(&mut record)
        .map_err(|error| csv_error(error.to_string()))?
    {
        let line = record.position().map_or(0, |position| position.line());
        let (id, metadata) = parse_record(&record, &layout)
            .map_err(|message| csv_error(format!("line {line}: {message}")))?;
        if tracks.insert(id, metadata).is_some() {
            return Err(csv_error(format!(
                "line {line}: track {id} appears in more than one row"
            )));
        }
    }
    Ok(tracks)
}

fn parse_record(record: &StringRecord, layout: &Layout) -> Result<(i64, Metadata), String> {
    let field = |index: usize| record.get(index).unwrap_or_default().trim();

    let id_text = field(layout.track_id);
    let id = id_text
        .parse::<i64>()
        .ok()
        .filter(|id| *id >= 0)
        .ok_or_else(|| format!("track_id {id_text:?} is not a non-negative integer"))?;

    let genre = match field(layout.genre_top) {
        "" => None,
        text => Some(
            Genre::from_fma(text)
                .ok_or_else(|| format!("genre_top {text:?} is neither Rock nor Hip-Hop"))?,
        ),
    };

    let duration_ms = match field(layout.duration) {
        "" => None,
        text => Some(
            text.parse::<f64>()
                .ok()
                .filter(|secs| secs.is_finite() && *secs > 0.0 && *secs < 86_400.0)
                .map(|secs| (secs * 1000.0).round() as i64)
                .ok_or_else(|| {
                    format!("duration {text:?} is not a number of seconds in 0-86400")
                })?,
        ),
    };

    let listens = match field(layout.listens) {
        "" => None,
        text => Some(
            text.parse::<u64>()
                .map_err(|_| format!("listens {text:?} is not a non-negative integer"))?,
        ),
    };

    Ok((
        id,
        Metadata {
            genre,
            duration_ms,
            listens,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const PATH: &str = "meta.csv";

    fn parse_str(text: &str) -> Result<HashMap<i64, Metadata>, CatalogError> {
        parse(text.as_bytes(), Path::new(PATH))
    }

    #[test]
    fn reads_the_used_columns_across_a_multi_line_field() {
        let text = "\
track_id,information,duration,genre_top,listens,title
135,\"first line
second line, with a comma and \"\"quotes\"\"\",837,Rock,1832,Father's Day
136,,509,Hip-Hop,,Peel Back
137,,,,12,Untitled
";
        let tracks = parse_str(text).expect("valid");
        assert_eq!(tracks.len(), 3);
        assert_eq!(
            tracks[&135],
            Metadata {
                genre: Some(Genre::Rock),
                duration_ms: Some(837_000),
                listens: Some(1832)
            }
        );
        assert_eq!(
            tracks[&136],
            Metadata {
                genre: Some(Genre::HipHop),
                duration_ms: Some(509_000),
                listens: None
            }
        );
        assert_eq!(
            tracks[&137],
            Metadata {
                genre: None,
                duration_ms: None,
                listens: Some(12)
            }
        );
    }

    #[test]
    fn bad_value_names_the_line_it_starts_on() {
        let text = "\
track_id,information,duration,genre_top,listens
1,\"two
lines\",100,Rock,5
2,,1 minute,Rock,5
";
        let error = parse_str(text).expect_err("bad duration");
        assert_eq!(
            error.to_string(),
            "meta.csv: line 4: duration \"1 minute\" is not a number of seconds in 0-86400"
        );
    }

    #[test]
    fn unknown_genre_is_refused() {
        let error =
            parse_str("track_id,duration,genre_top,listens\n1,100,Jazz,5\n").expect_err("jazz");
        assert_eq!(
            error.to_string(),
            "meta.csv: line 2: genre_top \"Jazz\" is neither Rock nor Hip-Hop"
        );
    }

    #[test]
    fn missing_column_is_named() {
        let error = parse_str("track_id,duration,genre_top\n1,100,Rock\n").expect_err("no listens");
        assert_eq!(
            error.to_string(),
            "meta.csv: the header has no listens column"
        );
    }

    #[test]
    fn short_row_is_a_csv_error() {
        let error = parse_str("track_id,duration,genre_top,listens\n1,100\n").expect_err("short");
        let message = error.to_string();
        assert!(message.starts_with("meta.csv: "), "{message}");
        assert!(message.contains("line: 2"), "{message}");
    }

    #[test]
    fn duplicate_track_is_refused() {
        let text = "track_id,duration,genre_top,listens\n1,100,Rock,5\n1,90,Rock,6\n";
        let error = parse_str(text).expect_err("duplicate");
        assert_eq!(
            error.to_string(),
            "meta.csv: line 3: track 1 appears in more than one row"
        );
    }

    #[test]
    fn negative_listens_are_refused() {
        let error = parse_str("track_id,duration,genre_top,listens\n1,100,Rock,-5\n")
            .expect_err("negative");
        assert_eq!(
            error.to_string(),
            "meta.csv: line 2: listens \"-5\" is not a non-negative integer"
        );
    }
}
