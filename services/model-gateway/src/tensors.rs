//! The inputs of an inference request, whatever the protocol, and the two request forms.
//!
//! - Entity ids: `user_id` and `session_id` (BYTES) and optionally `track_id` (INT64), one
//!   element per row; the features come from the feature store. Every row names the same
//!   listener (a request is about one listener, who sees one version).
//! - Raw features: one FP32, FP64, INT32 or INT64 input per model feature, named by the feature
//!   (`session_activity:plays`), one element per row, NaN (null in JSON) for a missing value,
//!   which the model imputes; optionally `user_id` (BYTES) to route the request sticky to the
//!   listener.
//!
//! Each input is shaped `[rows]` or `[rows, 1]`; all inputs have the same rows.

use std::collections::HashMap;

use crate::{error::GatewayError, features::EntityRow};

/// The user input.
pub const USER_ID: &str = "user_id";
/// The session input.
pub const SESSION_ID: &str = "session_id";
/// The track input.
pub const TRACK_ID: &str = "track_id";
/// The output.
pub const OUTPUT: &str = "skip_probability";

/// An input tensor's elements.
#[derive(Debug, Clone, PartialEq)]
pub enum Data {
    /// BYTES elements, as UTF-8 text.
    Bytes(Vec<String>),
    /// INT32 or INT64 elements.
    Ints(Vec<i64>),
    /// FP32 or FP64 elements.
    Floats(Vec<f64>),
}

impl Data {
    fn len(&self) -> usize {
        match self {
            Data::Bytes(v) => v.len(),
            Data::Ints(v) => v.len(),
            Data::Floats(v) => v.len(),
        }
    }
}

/// One input tensor of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct Tensor {
    /// Its name.
    pub name: String,
    /// Its declared shape.
    pub shape: Vec<i64>,
    /// Its elements.
    pub data: Data,
}

/// A request's rows, in one of the two forms.
#[derive(Debug, Clone, PartialEq)]
pub enum Input {
    /// Entity ids; features fetched from the store.
    Entities(Vec<EntityRow>),
    /// Feature values by name, one per row, and the optional listener to route by.
    Features {
        /// Rows in the request.
        rows: usize,
        /// Values by feature name.
        columns: HashMap<String, Vec<f64>>,
        /// The listener, for sticky routing.
        user: Option<String>,
    },
}

impl Input {
    /// Rows in the request.
    pub fn rows(&self) -> usize {
        match self {
            Input::Entities(rows) => rows.len(),
            Input::Features { rows, .. } => *rows,
        }
    }

    /// The listener the request is about, if it names one.
    pub fn user(&self) -> Option<&str> {
        match self {
            Input::Entities(rows) => rows.first().map(|r| r.user.as_str()),
            Input::Features { user, .. } => user.as_deref(),
        }
    }

    /// The model's rows from the raw form's columns, in `features` order; `None` where a
    /// value is NaN. Every feature must be given, and nothing else.
    pub fn feature_rows(
        rows: usize,
        columns: &HashMap<String, Vec<f64>>,
        features: &[String],
    ) -> Result<Vec<Vec<Option<f64>>>, GatewayError> {
        if let Some(unknown) = columns.keys().find(|name| !features.contains(name)) {
            return Err(GatewayError::bad(format!(
                "input {unknown:?} is not a feature of the model; its features are {features:?}"
            )));
        }
        let missing: Vec<&String> = features
            .iter()
            .filter(|f| !columns.contains_key(*f))
            .collect();
        if !missing.is_empty() {
            return Err(GatewayError::bad(format!(
                "missing inputs for features {missing:?}; send every feature of the model, or \
                 user_id and session_id to fetch them"
            )));
        }
        Ok((0..rows)
            .map(|row| {
                features
                    .iter()
                    .map(|f| Some(columns[f][row]).filter(|v| !v.is_nan()))
                    .collect()
            })
            .collect())
    }
}

/// Reads the request form from its inputs, with at most `max_rows` rows.
pub fn parse(inputs: Vec<Tensor>, max_rows: usize) -> Result<Input, GatewayError> {
    if inputs.is_empty() {
        return Err(GatewayError::bad(
            "the request has no inputs; send user_id and session_id, or the model's features",
        ));
    }
    let rows = row_count(&inputs, max_rows)?;
    let mut by_name: HashMap<String, Data> = HashMap::new();
    for input in inputs {
        if by_name.insert(input.name.clone(), input.data).is_some() {
            return Err(GatewayError::bad(format!(
                "input {:?} is given twice",
                input.name
            )));
        }
    }
    if by_name.contains_key(SESSION_ID) || by_name.contains_key(TRACK_ID) {
        entities(by_name, rows)
    } else {
        features(by_name, rows)
    }
}

fn row_count(inputs: &[Tensor], max_rows: usize) -> Result<usize, GatewayError> {
    let mut rows = None;
    for input in inputs {
        let name = &input.name;
        let n = match input.shape.as_slice() {
            [n] | [n, 1] if *n >= 0 => *n as usize,
            shape => {
                return Err(GatewayError::bad(format!(
                    "input {name:?} has shape {shape:?}; expected [rows] or [rows, 1]"
                )));
            }
        };
        if input.data.len() != n {
            return Err(GatewayError::bad(format!(
                "input {name:?} has {} elements for shape {:?}",
                input.data.len(),
                input.shape
            )));
        }
        match rows {
            Some(r) if r != n => {
                return Err(GatewayError::bad(format!(
                    "input {name:?} has {n} rows, other inputs have {r}"
                )));
            }
            _ => rows = Some(n),
        }
    }
    let rows = rows.unwrap_or_default();
    if rows == 0 {
        return Err(GatewayError::bad("the inputs hold no rows"));
    }
    if rows > max_rows {
        return Err(GatewayError::bad(format!(
            "{rows} rows requested; at most {max_rows} are allowed"
        )));
    }
    Ok(rows)
}

fn entities(mut by_name: HashMap<String, Data>, rows: usize) -> Result<Input, GatewayError> {
    let users = required_text(&mut by_name, USER_ID)?;
    let sessions = required_text(&mut by_name, SESSION_ID)?;
    let tracks = match by_name.remove(TRACK_ID) {
        None => vec![None; rows],
        Some(Data::Ints(ids)) => ids.into_iter().map(Some).collect(),
        Some(_) => {
            return Err(GatewayError::bad(format!(
                "input {TRACK_ID:?} must be INT64 (or INT32)"
            )));
        }
    };
    if let Some(other) = by_name.keys().next() {
        return Err(GatewayError::bad(format!(
            "input {other:?} cannot be sent with entity ids; send only user_id, session_id and \
             track_id, or only features"
        )));
    }
    if users.iter().any(|u| *u != users[0]) {
        return Err(GatewayError::bad(
            "every row of a request must name the same user_id (one listener sees one version)",
        ));
    }
    Ok(Input::Entities(
        users
            .into_iter()
            .zip(sessions)
            .zip(tracks)
            .map(|((user, session), track)| EntityRow {
                user,
                session,
                track,
            })
            .collect(),
    ))
}

fn features(mut by_name: HashMap<String, Data>, rows: usize) -> Result<Input, GatewayError> {
    let user = match by_name.contains_key(USER_ID) {
        false => None,
        true => {
            let users = required_text(&mut by_name, USER_ID)?;
            if users.iter().any(|u| *u != users[0]) {
                return Err(GatewayError::bad(
                    "every row of a request must name the same user_id",
                ));
            }
            users.into_iter().next()
        }
    };
    let mut columns = HashMap::with_capacity(by_name.len());
    for (name, data) in by_name {
        let values = match data {
            Data::Floats(v) => v,
            Data::Ints(v) => v.into_iter().map(|i| i as f64).collect(),
            Data::Bytes(_) => {
                return Err(GatewayError::bad(format!(
                    "input {name:?} is BYTES; a feature must be FP32, FP64, INT32 or INT64"
                )));
            }
        };
        columns.insert(name, values);
    }
    if columns.is_empty() {
        return Err(GatewayError::bad(
            "user_id alone is not enough: send session_id too, or the model's features",
        ));
    }
    Ok(Input::Features {
        rows,
        columns,
        user,
    })
}

fn required_text(
    by_name: &mut HashMap<String, Data>,
    name: &str,
) -> Result<Vec<String>, GatewayError> {
    match by_name.remove(name) {
        None => Err(GatewayError::bad(format!(
            "input {name:?} is missing; entity-id requests need user_id and session_id"
        ))),
        Some(Data::Bytes(values)) => {
            if values.iter().any(|v| v.is_empty()) {
                return Err(GatewayError::bad(format!(
                    "input {name:?} holds an empty id"
                )));
            }
            Ok(values)
        }
        Some(_) => Err(GatewayError::bad(format!("input {name:?} must be BYTES"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(name: &str, values: &[&str]) -> Tensor {
        Tensor {
            name: name.into(),
            shape: vec![values.len() as i64],
            data: Data::Bytes(values.iter().map(|v| (*v).into()).collect()),
        }
    }

    fn floats(name: &str, values: &[f64]) -> Tensor {
        Tensor {
            name: name.into(),
            shape: vec![values.len() as i64, 1],
            data: Data::Floats(values.to_vec()),
        }
    }

    fn message(result: Result<Input, GatewayError>) -> String {
        result.expect_err("refused").to_string()
    }

    #[test]
    fn reads_entity_rows() {
        let tracks = Tensor {
            name: TRACK_ID.into(),
            shape: vec![2],
            data: Data::Ints(vec![7, 9]),
        };
        let input = parse(
            vec![
                text(USER_ID, &["u", "u"]),
                text(SESSION_ID, &["s1", "s2"]),
                tracks,
            ],
            10,
        )
        .expect("valid");
        assert_eq!(input.user(), Some("u"));
        let Input::Entities(rows) = input else {
            panic!("entity form")
        };
        assert_eq!(rows[1].session, "s2");
        assert_eq!(rows[1].track, Some(9));
    }

    #[test]
    fn reads_feature_rows_in_model_order() {
        let input =
            parse(vec![floats("a:y", &[2.0]), floats("a:x", &[f64::NAN])], 10).expect("valid");
        let Input::Features {
            rows,
            columns,
            user,
        } = input
        else {
            panic!("feature form")
        };
        assert_eq!((rows, user), (1, None));
        let features = ["a:x".to_owned(), "a:y".to_owned()];
        let built = Input::feature_rows(rows, &columns, &features).expect("complete");
        assert_eq!(built, [vec![None, Some(2.0)]]);
        let short = Input::feature_rows(rows, &columns, &features[..1]).expect_err("extra");
        assert!(
            short.to_string().contains("\"a:y\" is not a feature"),
            "{short}"
        );
        let wider = ["a:x".to_owned(), "a:y".to_owned(), "a:z".to_owned()];
        let missing = Input::feature_rows(rows, &columns, &wider).expect_err("missing");
        assert!(missing.to_string().contains("a:z"), "{missing}");
    }

    #[test]
    fn names_what_is_wrong() {
        let cases = [
            (vec![], "no inputs"),
            (vec![text(SESSION_ID, &["s"])], "\"user_id\" is missing"),
            (
                vec![text(USER_ID, &["u", "v"]), text(SESSION_ID, &["s", "s"])],
                "same user_id",
            ),
            (
                vec![text(USER_ID, &["u"]), text(SESSION_ID, &["s", "t"])],
                "has 2 rows, other inputs have 1",
            ),
            (
                vec![text(USER_ID, &["u"]), text(SESSION_ID, &[""])],
                "empty id",
            ),
            (
                vec![
                    text(USER_ID, &["u"]),
                    text(SESSION_ID, &["s"]),
                    floats("a:x", &[1.0]),
                ],
                "cannot be sent with entity ids",
            ),
            (vec![text(USER_ID, &["u"])], "user_id alone"),
            (vec![text("a:x", &["1"])], "is BYTES"),
        ];
        for (inputs, expected) in cases {
            let got = message(parse(inputs, 10));
            assert!(got.contains(expected), "{got:?} should say {expected:?}");
        }
        let mut bad_shape = floats("a:x", &[1.0, 2.0]);
        bad_shape.shape = vec![1, 2];
        assert!(message(parse(vec![bad_shape], 10)).contains("shape [1, 2]"));
        let many = floats("a:x", &[1.0; 11]);
        assert!(message(parse(vec![many], 10)).contains("at most 10"));
        let mut lying = floats("a:x", &[1.0]);
        lying.shape = vec![3];
        assert!(message(parse(vec![lying], 10)).contains("1 elements for shape [3]"));
    }
}
