//! Encoding and decoding records with the process's framing.

use std::{collections::HashMap, sync::Arc};

use apache_avro::{
    Schema, reader::datum::GenericDatumReader, types::Value, writer::datum::GenericDatumWriter,
};
use tokio::sync::RwLock;

use crate::{
    DecodeError, EncodeError, RegistryClient, SchemaSet, fingerprint,
    framing::{confluent_header, single_object_header, split_confluent, split_single_object},
    registry::RegistryError,
    schemas::full_name,
};

/// Encodes and decodes records with one framing, chosen when the process starts.
#[derive(Debug, Clone)]
pub struct Codec {
    schemas: Arc<SchemaSet>,
    registry: Option<RegistryClient>,
    /// Schemas fetched from the registry by id. Ids are immutable in a registry, so entries never
    /// go stale; the set is bounded by the number of schema versions ever registered.
    by_id: Arc<RwLock<HashMap<u32, Arc<Schema>>>>,
}

/// Encodes values of one record schema; cheap to clone and to call from many tasks.
#[derive(Debug, Clone)]
pub struct Encoder {
    schema: Arc<Schema>,
    header: Arc<[u8]>,
}

/// A decoded record: its value resolved to the reader schema, and the writer schema's name.
#[derive(Debug, Clone, PartialEq)]
pub struct Decoded {
    /// The value, in the reader's shape.
    pub value: Value,
    /// Full name of the schema it was written with.
    pub writer: String,
}

impl Codec {
    /// Single-object encoding over the given schemas.
    pub fn single_object(schemas: SchemaSet) -> Self {
        Codec {
            schemas: Arc::new(schemas),
            registry: None,
            by_id: Default::default(),
        }
    }

    /// Confluent wire format, ids from the registry.
    pub fn confluent(schemas: SchemaSet, registry: RegistryClient) -> Self {
        Codec {
            schemas: Arc::new(schemas),
            registry: Some(registry),
            by_id: Default::default(),
        }
    }

    /// Confluent framing when `registry_url` is set, single-object encoding otherwise.
    pub fn from_registry_url(schemas: SchemaSet, registry_url: Option<&str>) -> Self {
        match registry_url.filter(|url| !url.is_empty()) {
            Some(url) => Codec::confluent(schemas, RegistryClient::new(url)),
            None => Codec::single_object(schemas),
        }
    }

    /// The schemas this codec knows.
    pub fn schemas(&self) -> &SchemaSet {
        &self.schemas
    }

    /// An encoder for the newest schema of `record`, registered under `subject` when a registry
    /// is used (by convention `<topic>-value`).
    pub async fn encoder(&self, record: &str, subject: &str) -> Result<Encoder, EncodeError> {
        let schema = self.schemas.latest(record)?;
        let header = match &self.registry {
            None => single_object_header(&fingerprint(&schema)),
            Some(registry) => {
                let id = registry
                    .register(subject, &schema.canonical_form())
                    .await
                    .map_err(|e| EncodeError::Registry(e.to_string()))?;
                self.by_id.write().await.insert(id, schema.clone());
                confluent_header(id)
            }
        };
        Ok(Encoder {
            schema,
            header: header.into(),
        })
    }

    /// Decodes a record and resolves it to the newest schema of `reader`.
    pub async fn decode(&self, bytes: &[u8], reader: &str) -> Result<Decoded, DecodeError> {
        let reader = self
            .schemas
            .latest(reader)
            .map_err(|e| DecodeError::Body(e.to_string()))?;
        self.decode_as(bytes, &reader).await
    }

    /// Decodes a record and resolves it to the given reader schema.
    pub async fn decode_as(&self, bytes: &[u8], reader: &Schema) -> Result<Decoded, DecodeError> {
        let (writer, body) = match &self.registry {
            None => {
                let (print, body) = split_single_object(bytes)?;
                let writer = self
                    .schemas
                    .by_fingerprint(&print)
                    .ok_or_else(|| DecodeError::UnknownFingerprint(hex::encode(print)))?;
                (writer, body)
            }
            Some(registry) => {
                let (id, body) = split_confluent(bytes)?;
                (self.schema_by_id(registry, id).await?, body)
            }
        };
        decode_body(&writer, reader, body)
    }

    async fn schema_by_id(
        &self,
        registry: &RegistryClient,
        id: u32,
    ) -> Result<Arc<Schema>, DecodeError> {
        if let Some(schema) = self.by_id.read().await.get(&id) {
            return Ok(schema.clone());
        }

        let text = registry.schema(id).await.map_err(|e| match e {
            RegistryError::NotFound => DecodeError::UnknownSchemaId(id),
            RegistryError::Unavailable(detail) => DecodeError::Registry(detail),
        })?;
        let schema = Arc::new(
            Schema::parse_str(&text)
                .map_err(|e| DecodeError::Body(format!("registry schema {id}: {e}")))?,
        );
        self.by_id.write().await.insert(id, schema.clone());
        Ok(schema)
    }
}

impl Encoder {
    /// Frames and encodes one value. The value must follow the encoder's schema.
    pub fn encode(&self, value: Value) -> Result<Vec<u8>, EncodeError> {
        let invalid = |e: apache_avro::Error| EncodeError::Invalid {
            schema: full_name(&self.schema).unwrap_or_default(),
            detail: e.to_string(),
        };
        let writer = GenericDatumWriter::builder(&self.schema)
            .build()
            .map_err(invalid)?;

        let mut out = Vec::with_capacity(self.header.len() + 192);
        out.extend_from_slice(&self.header);
        writer.write_value_ref(&mut out, &value).map_err(invalid)?;
        Ok(out)
    }

    /// The writer schema.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }
}

fn decode_body(writer: &Schema, reader: &Schema, body: &[u8]) -> Result<Decoded, DecodeError> {
    let writer_name = full_name(writer).unwrap_or_default();
    let reader_name = full_name(reader).unwrap_or_default();
    if writer_name != reader_name {
        return Err(DecodeError::Incompatible {
            writer: writer_name,
            reader: reader_name,
            detail: "different record names".into(),
        });
    }

    let mut input = Exact {
        rest: body,
        overrun: false,
    };
    let resolve = (writer != reader).then_some(reader);
    let body_error = |e: apache_avro::Error| DecodeError::Body(e.to_string());
    let value = GenericDatumReader::builder(writer)
        .maybe_reader_schema(resolve)
        .build()
        .map_err(body_error)?
        .read_value(&mut input);

    if input.overrun {
        return Err(DecodeError::Body(format!(
            "truncated: the {} body bytes end inside the record",
            body.len()
        )));
    }
    let value = value.map_err(body_error)?;
    if !input.rest.is_empty() {
        return Err(DecodeError::Trailing(input.rest.len()));
    }
    Ok(Decoded {
        value,
        writer: writer_name,
    })
}

/// A reader over the body that notes any attempt to read past its end.
///
/// apache-avro 0.22 turns end-of-input inside a string, boolean or union into a null value
/// instead of an error, so a truncated record would otherwise decode "successfully".
struct Exact<'a> {
    rest: &'a [u8],
    overrun: bool,
}

impl std::io::Read for Exact<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.rest.is_empty() && !buf.is_empty() {
            self.overrun = true;
            return Ok(0);
        }
        let n = buf.len().min(self.rest.len());
        buf[..n].copy_from_slice(&self.rest[..n]);
        self.rest = &self.rest[n..];
        Ok(n)
    }
}
