//! Lookups against Feast's HTTP feature server (`POST /get-online-features`), and the check that
//! it holds the very values ours does.

use std::collections::HashMap;

use chrono::DateTime;
use serde_json::{Value, json, value::RawValue};

use crate::{FEATURES, load::Lookup, ours::Snapshot};

// JSON text as the type the binding names (a macro, as serde itself is not a dependency here).
macro_rules! parse {
    ($raw:expr) => {
        serde_json::from_str($raw).expect("feast answers the documented JSON shape")
    };
}

/// Users per request while checking values.
const CHECK_BATCH: usize = 100;

/// One HTTP/1.1 keep-alive connection to Feast's feature server.
pub struct Feast {
    http: reqwest::Client,
    url: String,
}

/// A column of Feast's answer: `values`, `statuses` and `event_timestamps`, as JSON text.
type Column<'a> = HashMap<&'a str, &'a RawValue>;

impl Feast {
    /// A client for the server at `base_url`.
    pub fn new(base_url: &str) -> Feast {
        Feast {
            http: reqwest::Client::new(),
            url: format!("{base_url}/get-online-features"),
        }
    }

    /// Feast's answer for `ids` as JSON text (see [`Columns`]).
    async fn post(&self, ids: &[String]) -> String {
        let body = json!({
            "features": FEATURES.iter().map(|f| format!("user_bench:{f}")).collect::<Vec<_>>(),
            "entities": { "user_id": ids },
        });
        let answer = self.http.post(&self.url).json(&body).send().await;
        let answer = answer
            .and_then(|a| a.error_for_status())
            .expect("feast lookup");
        answer.text().await.expect("feast answer body")
    }

    /// Asserts that Feast answers every user of `snapshot` with our values: the same ids in the
    /// same order, every value equal to the last bit (null where ours has none), and the
    /// snapshot's time as each value's event time (so the row is Feast's, not a miss). Returns
    /// how many values were compared.
    pub async fn assert_same(&self, snapshot: &Snapshot) -> usize {
        let mut compared = 0;
        for rows in snapshot.rows.chunks(CHECK_BATCH) {
            let ids: Vec<String> = rows.iter().map(|(id, _)| id.clone()).collect();
            let text = self.post(&ids).await;
            let columns = Columns::of(&text);
            let answered: Vec<String> = parse!(columns.get("user_id")["values"].get());
            assert_eq!(answered, ids, "feast answers the ids asked for");

            for (i, feature) in FEATURES.iter().enumerate() {
                let column = columns.get(feature);
                let at = event_times(column);
                let stamped = at.iter().all(|&t| t == snapshot.at_ms);
                assert!(stamped, "{feature}: feast event times {at:?}");
                for ((id, ours), theirs) in rows.iter().zip(values(column)) {
                    let (ours, theirs) = (ours[i].map(f64::to_bits), theirs.map(f64::to_bits));
                    assert_eq!(ours, theirs, "user {id}, {feature}: ours vs feast (bits)");
                    compared += 1;
                }
            }
        }
        compared
    }
}

/// Feast's answer, fields still as JSON text. It is column-major: one column per name in
/// `metadata.feature_names` (the join key, then the features, in an order of Feast's choosing).
struct Columns<'a> {
    names: Vec<&'a str>,
    columns: Vec<Column<'a>>,
}

impl<'a> Columns<'a> {
    fn of(text: &'a str) -> Columns<'a> {
        let answer: HashMap<&str, &RawValue> = parse!(text);
        let metadata: HashMap<&str, &RawValue> = parse!(answer["metadata"].get());
        let names: Vec<&str> = parse!(metadata["feature_names"].get());
        let columns: Vec<Column> = parse!(answer["results"].get());
        assert_eq!(names.len(), columns.len(), "one column per name");
        Columns { names, columns }
    }

    /// The column of `name` (a feature's short name, or the join key).
    fn get(&self, name: &str) -> &Column<'a> {
        let i = self.names.iter().position(|n| *n == name);
        &self.columns[i.unwrap_or_else(|| panic!("feast answered no column {name}"))]
    }
}

impl Lookup for Feast {
    async fn lookup(&mut self, ids: &[String]) -> usize {
        let answer: Value = serde_json::from_str(&self.post(ids).await).expect("feast JSON");
        answer["results"][0]["values"]
            .as_array()
            .map_or(0, Vec::len)
    }
}

/// A feature column's values; JSON null is an absent value. Numbers are read from their text
/// with Rust's correctly rounded parser, as serde_json's default one may miss by a last bit.
fn values(column: &Column) -> Vec<Option<f64>> {
    let values: Vec<&RawValue> = parse!(column["values"].get());
    values
        .iter()
        .map(|v| match v.get() {
            "null" => None,
            text => Some(text.parse().expect("a JSON number")),
        })
        .collect()
}

/// A feature column's event times, UTC milliseconds (Feast sends RFC 3339, whole seconds).
fn event_times(column: &Column) -> Vec<i64> {
    let times: Vec<String> = parse!(column["event_timestamps"].get());
    times
        .iter()
        .map(|t| {
            DateTime::parse_from_rfc3339(t)
                .expect("an RFC 3339 time")
                .timestamp_millis()
        })
        .collect()
}
