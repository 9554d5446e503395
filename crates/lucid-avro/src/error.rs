//! Errors of encoding and decoding, with whether a retry can help.

/// A record could not be decoded.
#[derive(Debug, thiserror::Error)]
pub enum DecodeError {
    /// The record is shorter than its framing header.
    #[error("record truncated: {len} bytes, the header alone needs {needed}")]
    Truncated {
        /// Bytes received.
        len: usize,
        /// Bytes the header needs.
        needed: usize,
    },
    /// The first byte(s) are not the configured framing's magic.
    #[error("wrong magic bytes {found}, expected {expected}")]
    BadMagic {
        /// What was found, hex.
        found: String,
        /// What the framing expects, hex.
        expected: String,
    },
    /// Single-object encoding: no known schema has this fingerprint.
    #[error("unknown schema fingerprint {0}")]
    UnknownFingerprint(String),
    /// Confluent framing: the registry does not know this schema id.
    #[error("unknown schema id {0}")]
    UnknownSchemaId(u32),
    /// The writer's schema cannot be read as the reader's (for example, a different record).
    #[error("writer schema {writer} cannot be read as {reader}: {detail}")]
    Incompatible {
        /// Writer schema name.
        writer: String,
        /// Reader schema name.
        reader: String,
        /// What the resolution said.
        detail: String,
    },
    /// The Avro body is invalid for its schema (truncated, bad varint, bad union index).
    #[error("invalid avro body: {0}")]
    Body(String),
    /// Bytes were left over after the record.
    #[error("{0} trailing bytes after the record")]
    Trailing(usize),
    /// The schema registry could not be asked.
    #[error("schema registry unavailable: {0}")]
    Registry(String),
}

impl DecodeError {
    /// True when the same bytes may decode later (the registry was unreachable). Everything else
    /// is a property of the bytes, and the record belongs on a dead-letter topic.
    pub fn retryable(&self) -> bool {
        matches!(self, DecodeError::Registry(_))
    }

    /// A short stable code for dead-letter records and metric labels.
    pub fn code(&self) -> &'static str {
        match self {
            DecodeError::Truncated { .. } => "truncated",
            DecodeError::BadMagic { .. } => "bad_magic",
            DecodeError::UnknownFingerprint(_) => "unknown_fingerprint",
            DecodeError::UnknownSchemaId(_) => "unknown_schema_id",
            DecodeError::Incompatible { .. } => "incompatible_schema",
            DecodeError::Body(_) => "invalid_body",
            DecodeError::Trailing(_) => "trailing_bytes",
            DecodeError::Registry(_) => "registry_unavailable",
        }
    }
}

/// A record could not be encoded.
#[derive(Debug, thiserror::Error)]
pub enum EncodeError {
    /// The value does not match the writer schema: a bug in the caller.
    #[error("value does not match schema {schema}: {detail}")]
    Invalid {
        /// Schema name.
        schema: String,
        /// What Avro said.
        detail: String,
    },
    /// The schema is not one of ours.
    #[error("unknown schema {0}")]
    UnknownSchema(String),
    /// The schema registry could not be asked.
    #[error("schema registry unavailable: {0}")]
    Registry(String),
}

impl EncodeError {
    /// True when a retry may help (the registry was unreachable).
    pub fn retryable(&self) -> bool {
        matches!(self, EncodeError::Registry(_))
    }
}
