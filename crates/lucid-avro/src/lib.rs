//! Avro framing for the platform's topics.
//!
//! Two framings are supported, chosen per process:
//!
//! - [single-object encoding](https://avro.apache.org/docs/1.11.1/specification/#single-object-encoding),
//!   the default: `C3 01`, the 8-byte little-endian CRC-64-AVRO fingerprint of the writer schema,
//!   then the Avro body. Readers find the writer schema by fingerprint among the schemas shipped in
//!   `schemas/`, so no registry is needed.
//! - the Confluent wire format, when `SCHEMA_REGISTRY_URL` is set: `00`, the 4-byte big-endian
//!   schema id, then the body. Ids are looked up in (and registered with) the schema registry.
//!
//! Decoding never panics: a wrong magic byte, an unknown fingerprint or id, truncated bytes and
//! trailing garbage are all [`DecodeError`]s.

mod codec;
mod error;
mod framing;
mod registry;
mod schemas;

pub use codec::{Codec, Decoded, Encoder};
pub use error::{DecodeError, EncodeError};
pub use framing::{CONFLUENT_MAGIC, SINGLE_OBJECT_MAGIC, fingerprint};
pub use registry::RegistryClient;
pub use schemas::{
    DRIFT_ALERT, LISTENING_EVENT, PREDICTION_LOG, REJECTED_EVENT, RETRAINING_RUN, ROLLOUT_EVENT,
    SchemaSet,
};
