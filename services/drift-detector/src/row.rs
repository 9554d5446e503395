//! Records as rows of named columns: the fields a monitor can watch, and the derived ones.
//!
//! Listening events (`listening_event`) offer their own fields, `listened_ratio`
//! (listened_ms / track_duration_ms), `hour_of_day` (UTC) and the catalog attributes of their
//! track (`track_energy`, `track_valence`, `track_tempo`, `track_danceability`,
//! `track_acousticness`, `track_genre`). Prediction logs (`prediction_log`) offer `score`,
//! `latency_us`, `model_version`, `route` and every feature the model saw as `feature.<name>`.

use std::collections::HashMap;

use apache_avro::types::Value as Avro;
use lucid_catalog::Catalog;
use lucid_drift::ColumnKind;
use lucid_events::ListeningEvent;
use serde::Deserialize;

/// Action names a monitor may filter on.
pub const ACTIONS: [&str; 8] = [
    "session_start",
    "play",
    "skip",
    "pause",
    "resume",
    "complete",
    "session_end",
    "mood_checkin",
];

/// What a monitored topic holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordKind {
    /// `ListeningEvent` (`schemas/listening-event.avsc`).
    ListeningEvent,
    /// `PredictionLog` (`schemas/prediction-log.avsc`).
    PredictionLog,
}

impl RecordKind {
    /// The Avro record name to read the topic as.
    pub fn schema(self) -> &'static str {
        match self {
            RecordKind::ListeningEvent => lucid_avro::LISTENING_EVENT,
            RecordKind::PredictionLog => lucid_avro::PREDICTION_LOG,
        }
    }
}

const LISTENING_NUMERIC: [&str; 12] = [
    "listened_ms",
    "track_duration_ms",
    "listened_ratio",
    "position",
    "mood_valence",
    "mood_arousal",
    "hour_of_day",
    "track_energy",
    "track_valence",
    "track_tempo",
    "track_danceability",
    "track_acousticness",
];
const LISTENING_CATEGORICAL: [&str; 5] = [
    "action",
    "context",
    "platform",
    "app_version",
    "track_genre",
];

/// The kind of a known column; `None` for a name the record does not offer.
pub fn column_kind(record: RecordKind, name: &str) -> Option<ColumnKind> {
    match record {
        RecordKind::ListeningEvent if LISTENING_NUMERIC.contains(&name) => {
            Some(ColumnKind::Numeric)
        }
        RecordKind::ListeningEvent if LISTENING_CATEGORICAL.contains(&name) => {
            Some(ColumnKind::Categorical)
        }
        RecordKind::PredictionLog => match name {
            "score" | "latency_us" => Some(ColumnKind::Numeric),
            "model_version" | "route" => Some(ColumnKind::Categorical),
            _ if name.starts_with("feature.") => Some(ColumnKind::Numeric),
            _ => None,
        },
        RecordKind::ListeningEvent => None,
    }
}

/// One value of a row.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// A number.
    Number(f64),
    /// A category.
    Category(String),
    /// No value.
    Missing,
}

impl Cell {
    /// As the statistics crate takes it.
    pub fn as_value(&self) -> lucid_drift::Value<'_> {
        match self {
            Cell::Number(n) => lucid_drift::Value::Number(*n),
            Cell::Category(c) => lucid_drift::Value::Category(c),
            Cell::Missing => lucid_drift::Value::Missing,
        }
    }
}

/// A decoded record: its event time, scope fields and every column it offers.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// Event time (listening events) or prediction time, epoch milliseconds.
    pub time: i64,
    /// The listening event's action, by name.
    pub action: Option<&'static str>,
    /// The prediction's model and version.
    pub model: Option<(String, String)>,
    cells: HashMap<String, Cell>,
}

impl Row {
    /// A row of columns given directly (reference files).
    pub fn from_cells(time: i64, cells: HashMap<String, Cell>) -> Row {
        Row {
            time,
            action: None,
            model: None,
            cells,
        }
    }

    /// The value of a column; missing when the record does not have it.
    pub fn get(&self, column: &str) -> &Cell {
        self.cells.get(column).unwrap_or(&Cell::Missing)
    }

    /// A listening event's row, with its track's catalog attributes.
    pub fn from_event(event: &ListeningEvent, catalog: Option<&Catalog>) -> Row {
        let number = |v: Option<f64>| v.map_or(Cell::Missing, Cell::Number);
        let category = |v: &str| Cell::Category(v.to_owned());
        let ratio = match (event.listened_ms, event.track_duration_ms) {
            (Some(heard), Some(length)) if length > 0 => Some(heard as f64 / length as f64),
            _ => None,
        };
        let hour = (event.event_time.rem_euclid(86_400_000) / 3_600_000) as f64;
        let track = event.track_id.and_then(|id| catalog?.get(id));
        let mut cells = HashMap::from([
            ("action".to_owned(), category(event.action.as_str())),
            ("context".to_owned(), category(event.context.as_str())),
            ("platform".to_owned(), category(event.platform.as_str())),
            ("app_version".to_owned(), category(&event.app_version)),
            (
                "listened_ms".to_owned(),
                number(event.listened_ms.map(|v| v as f64)),
            ),
            (
                "track_duration_ms".to_owned(),
                number(event.track_duration_ms.map(|v| v as f64)),
            ),
            ("listened_ratio".to_owned(), number(ratio)),
            ("position".to_owned(), number(event.position.map(f64::from))),
            (
                "mood_valence".to_owned(),
                number(event.mood_valence.map(f64::from)),
            ),
            (
                "mood_arousal".to_owned(),
                number(event.mood_arousal.map(f64::from)),
            ),
            ("hour_of_day".to_owned(), Cell::Number(hour)),
        ]);
        if let Some(track) = track {
            cells.extend([
                ("track_energy".to_owned(), Cell::Number(track.energy)),
                ("track_valence".to_owned(), Cell::Number(track.valence)),
                ("track_tempo".to_owned(), Cell::Number(track.tempo)),
                (
                    "track_danceability".to_owned(),
                    Cell::Number(track.danceability),
                ),
                (
                    "track_acousticness".to_owned(),
                    Cell::Number(track.acousticness),
                ),
            ]);
            if let Some(genre) = track.genre {
                cells.insert("track_genre".to_owned(), category(genre.as_str()));
            }
        }
        Row {
            time: event.event_time,
            action: Some(event.action.as_str()),
            model: None,
            cells,
        }
    }

    /// A prediction log's row, from its Avro value.
    pub fn from_prediction(value: &Avro) -> Result<Row, String> {
        let Avro::Record(fields) = value else {
            return Err("a prediction log is not a record".into());
        };
        let field = |name: &str| fields.iter().find(|(n, _)| n == name).map(|(_, v)| v);
        let text = |name: &str| match field(name).map(unwrap_union) {
            Some(Avro::String(s)) => Ok(s.clone()),
            Some(Avro::Enum(_, symbol)) => Ok(symbol.to_lowercase()),
            _ => Err(format!(
                "prediction log field {name} is missing or not text"
            )),
        };
        let time = match field("predicted_time").map(unwrap_union) {
            Some(Avro::TimestampMillis(t) | Avro::Long(t)) => *t,
            _ => return Err("prediction log has no predicted_time".into()),
        };
        let (model, version) = (text("model_name")?, text("model_version")?);
        let mut cells = HashMap::from([
            ("score".to_owned(), number_cell(field("score"))),
            ("latency_us".to_owned(), number_cell(field("latency_us"))),
            ("model_version".to_owned(), Cell::Category(version.clone())),
            ("route".to_owned(), Cell::Category(text("route")?)),
        ]);
        if let Some(Avro::Map(features)) = field("features") {
            for (name, value) in features {
                cells.insert(format!("feature.{name}"), number_cell(Some(value)));
            }
        }
        Ok(Row {
            time,
            action: None,
            model: Some((model, version)),
            cells,
        })
    }

    /// Whether a listening event's action is among `actions` (all when empty).
    pub fn has_action(&self, actions: &[String]) -> bool {
        actions.is_empty() || self.action.is_some_and(|a| actions.iter().any(|x| x == a))
    }
}

fn unwrap_union(value: &Avro) -> &Avro {
    match value {
        Avro::Union(_, inner) => inner,
        other => other,
    }
}

fn number_cell(value: Option<&Avro>) -> Cell {
    match value.map(unwrap_union) {
        Some(Avro::Double(v)) => Cell::Number(*v),
        Some(Avro::Float(v)) => Cell::Number(f64::from(*v)),
        Some(Avro::Long(v)) => Cell::Number(*v as f64),
        Some(Avro::Int(v)) => Cell::Number(f64::from(*v)),
        _ => Cell::Missing,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use lucid_events::Action;

    #[test]
    fn known_columns_have_kinds() {
        use RecordKind::*;
        assert_eq!(
            column_kind(ListeningEvent, "listened_ratio"),
            Some(ColumnKind::Numeric)
        );
        assert_eq!(
            column_kind(ListeningEvent, "track_genre"),
            Some(ColumnKind::Categorical)
        );
        assert_eq!(
            column_kind(PredictionLog, "feature.user:skips"),
            Some(ColumnKind::Numeric)
        );
        assert_eq!(column_kind(ListeningEvent, "score"), None);
        assert!(ACTIONS.contains(&Action::MoodCheckin.as_str()));
    }

    #[test]
    fn a_prediction_log_reads_as_a_row() {
        let value = Avro::Record(vec![
            ("request_id".into(), Avro::String("r".into())),
            ("model_name".into(), Avro::String("skip-model".into())),
            ("model_version".into(), Avro::String("3".into())),
            ("route".into(), Avro::Enum(1, "CANARY".into())),
            (
                "features".into(),
                Avro::Map(HashMap::from([(
                    "u:skips".to_owned(),
                    Avro::Union(1, Box::new(Avro::Double(2.0))),
                )])),
            ),
            ("score".into(), Avro::Double(0.25)),
            ("predicted_time".into(), Avro::TimestampMillis(7)),
        ]);
        let row = Row::from_prediction(&value).expect("reads");
        assert_eq!(row.time, 7);
        assert_eq!(row.get("score"), &Cell::Number(0.25));
        assert_eq!(row.get("route"), &Cell::Category("canary".into()));
        assert_eq!(row.get("feature.u:skips"), &Cell::Number(2.0));
        assert_eq!(row.get("latency_us"), &Cell::Missing);
        assert_eq!(row.model, Some(("skip-model".into(), "3".into())));
    }
}
