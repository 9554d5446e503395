//! The schemas a process knows, by full name and by fingerprint.

use std::{collections::HashMap, sync::Arc};

use apache_avro::Schema;

use crate::{EncodeError, fingerprint};

/// Full name of the listening event record.
pub const LISTENING_EVENT: &str = "lucid.events.v1.ListeningEvent";
/// Full name of the dead-letter record.
pub const REJECTED_EVENT: &str = "lucid.events.v1.RejectedEvent";

/// Full name of the drift alert record.
pub const DRIFT_ALERT: &str = "lucid.drift.v1.DriftAlert";
/// Full name of the prediction log record.
pub const PREDICTION_LOG: &str = "lucid.serving.v1.PredictionLog";
/// Full name of the retraining run record.
pub const RETRAINING_RUN: &str = "lucid.retraining.v1.RetrainingRun";
/// Full name of the rollout event record.
pub const ROLLOUT_EVENT: &str = "lucid.deploy.v1.RolloutEvent";

/// The schemas shipped in `schemas/`, compiled into every binary so that no service depends on a
/// file layout at run time.
const SHIPPED: &[&str] = &[
    include_str!("../../../schemas/listening-event.avsc"),
    include_str!("../../../schemas/rejected-event.avsc"),
    include_str!("../../../schemas/drift-alert.avsc"),
    include_str!("../../../schemas/prediction-log.avsc"),
    include_str!("../../../schemas/retraining-run.avsc"),
    include_str!("../../../schemas/rollout-event.avsc"),
];

/// Known schemas: the newest per record name (what we write and read as), and every version by
/// fingerprint (what others may have written with).
#[derive(Debug, Clone)]
pub struct SchemaSet {
    latest: HashMap<String, Arc<Schema>>,
    by_fingerprint: HashMap<[u8; 8], Arc<Schema>>,
}

impl SchemaSet {
    /// The schemas shipped with the platform.
    pub fn shipped() -> Self {
        let mut set = SchemaSet {
            latest: HashMap::new(),
            by_fingerprint: HashMap::new(),
        };
        for text in SHIPPED {
            set.add(text)
                .expect("shipped schemas are valid: checked by the tests");
        }
        set
    }

    /// Adds a schema from its JSON text. It becomes the newest version of its name; older
    /// versions stay readable by fingerprint.
    pub fn add(&mut self, text: &str) -> Result<[u8; 8], apache_avro::Error> {
        let schema = Arc::new(Schema::parse_str(text)?);
        let print = fingerprint(&schema);
        if let Some(name) = full_name(&schema) {
            self.latest.insert(name, schema.clone());
        }
        self.by_fingerprint.insert(print, schema);
        Ok(print)
    }

    /// The newest schema of a record.
    pub fn latest(&self, name: &str) -> Result<Arc<Schema>, EncodeError> {
        self.latest
            .get(name)
            .cloned()
            .ok_or_else(|| EncodeError::UnknownSchema(name.to_owned()))
    }

    /// The schema with this fingerprint, if known.
    pub fn by_fingerprint(&self, print: &[u8; 8]) -> Option<Arc<Schema>> {
        self.by_fingerprint.get(print).cloned()
    }
}

/// The namespace-qualified name of a named schema.
pub(crate) fn full_name(schema: &Schema) -> Option<String> {
    match schema {
        Schema::Record(record) => Some(record.name.fullname(None)),
        Schema::Enum(e) => Some(e.name.fullname(None)),
        Schema::Fixed(f) => Some(f.name.fullname(None)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_schemas_parse_and_are_named() {
        let set = SchemaSet::shipped();
        assert!(set.latest(LISTENING_EVENT).is_ok());
        assert!(set.latest(REJECTED_EVENT).is_ok());
        assert!(set.latest(DRIFT_ALERT).is_ok());
        assert!(set.latest(PREDICTION_LOG).is_ok());
        assert!(set.latest(RETRAINING_RUN).is_ok());
        assert!(set.latest(ROLLOUT_EVENT).is_ok());
        assert!(set.latest("lucid.Nope").is_err());
    }

    #[test]
    fn every_field_of_every_shipped_schema_is_documented() {
        for text in SHIPPED {
            let json: serde_json::Value = serde_json::from_str(text).expect("valid json");
            for field in json["fields"].as_array().expect("record fields") {
                let doc = field["doc"].as_str().unwrap_or_default();
                assert!(doc.len() > 10, "field {} lacks a doc", field["name"]);
            }
        }
    }
}
