//! The crate's errors. Retrying never helps with either: definitions must be fixed, and a read
//! names a feature that does not exist or found data this crate did not write.

/// Feature definitions that cannot be used; the message names the view, feature or setting.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    /// The text is not TOML of the expected shape.
    #[error("invalid feature definitions: {0}")]
    Toml(#[from] toml::de::Error),
    /// A value is readable but not acceptable.
    #[error("invalid feature definitions: {place}: {problem}")]
    Invalid {
        /// Where, for example `view session_activity, feature skip_rate`.
        place: String,
        /// What is wrong.
        problem: String,
    },
}

impl SpecError {
    pub(crate) fn invalid(place: impl Into<String>, problem: impl Into<String>) -> Self {
        SpecError::Invalid {
            place: place.into(),
            problem: problem.into(),
        }
    }
}

/// A read that cannot be planned or evaluated.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ReadError {
    /// No view has this feature.
    #[error("unknown feature {0}")]
    UnknownFeature(String),
    /// The feature is about another entity type than the one requested.
    #[error("feature {feature} is about {actual} entities, not {requested}")]
    WrongEntity {
        /// Full feature name.
        feature: String,
        /// The entity type of its view.
        actual: &'static str,
        /// The entity type of the request.
        requested: &'static str,
    },
    /// The fetched rows do not match the plan's keys.
    #[error("fetched {actual} rows for a plan of {expected} keys")]
    KeyCount {
        /// Keys in the plan.
        expected: usize,
        /// Rows fetched.
        actual: usize,
    },
    /// A fetched row does not match its key's fields.
    #[error("fetched {actual} values for the {expected} fields of {key}")]
    FieldCount {
        /// The key.
        key: String,
        /// Fields in the plan.
        expected: usize,
        /// Values fetched.
        actual: usize,
    },
    /// A field holds something this crate never writes.
    #[error("{key} field {field} holds unreadable value {value:?}")]
    Corrupt {
        /// The key.
        key: String,
        /// The field.
        field: String,
        /// What it holds.
        value: String,
    },
}
