//! Encoding and decoding with both framings, schema evolution, and bad input.

use std::sync::{Arc, Mutex};

use apache_avro::Schema;
use lucid_avro::{Codec, DecodeError, LISTENING_EVENT, REJECTED_EVENT, SchemaSet, fingerprint};
use lucid_events::{Action, Context, EventInput, ListeningEvent, Platform};
use proptest::prelude::*;

fn event() -> ListeningEvent {
    let time = chrono::DateTime::from_timestamp_millis(1_796_317_200_250).expect("valid time");
    let input = EventInput {
        event_id: "e-1".into(),
        user_id: "u".into(),
        session_id: "s-1".into(),
        event_time: time,
        action: Action::Skip,
        track_id: Some(153),
        position: Some(3),
        listened_ms: Some(12_345),
        track_duration_ms: Some(200_000),
        context: Context::TherapyProgram,
        platform: Platform::Android,
        app_version: "4.12.0".into(),
        mood_valence: None,
        mood_arousal: None,
    };
    ListeningEvent::from_input(&input, "ab".repeat(32), time)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// The shipped schema with one more field, `session_mood`, that has a default.
fn schema_v2() -> String {
    let mut json: serde_json::Value =
        serde_json::from_str(include_str!("../../../schemas/listening-event.avsc")).expect("json");
    json["fields"]
        .as_array_mut()
        .expect("fields")
        .push(serde_json::json!({
            "name": "session_mood", "type": "string", "default": "unknown", "doc": "added in v2"
        }));
    json.to_string()
}

#[test]
fn single_object_round_trip_keeps_every_field() {
    let rt = runtime();
    let codec = Codec::single_object(SchemaSet::shipped());
    let encoder = rt
        .block_on(codec.encoder(LISTENING_EVENT, "unused"))
        .expect("encoder");
    let bytes = encoder.encode(event().to_avro()).expect("encodes");

    assert_eq!(&bytes[..2], &[0xC3, 0x01]);
    assert_eq!(&bytes[2..10], &fingerprint(encoder.schema()));
    let decoded = rt
        .block_on(codec.decode(&bytes, LISTENING_EVENT))
        .expect("decodes");
    assert_eq!(
        ListeningEvent::from_avro(decoded.value).expect("record"),
        event()
    );
}

#[test]
fn bytes_written_with_v1_are_read_with_v2_using_the_default() {
    let rt = runtime();
    let v1 = Codec::single_object(SchemaSet::shipped());
    let bytes = rt
        .block_on(v1.encoder(LISTENING_EVENT, "unused"))
        .expect("encoder")
        .encode(event().to_avro())
        .expect("encodes");

    let mut schemas = SchemaSet::shipped();
    schemas.add(&schema_v2()).expect("v2 parses");
    let v2 = Codec::single_object(schemas);
    let decoded = rt
        .block_on(v2.decode(&bytes, LISTENING_EVENT))
        .expect("v1 bytes read as v2");

    let apache_avro::types::Value::Record(fields) = decoded.value else {
        panic!("a record")
    };
    assert_eq!(fields.len(), 16);
    let (name, value) = fields.last().expect("new field");
    assert_eq!(
        (name.as_str(), value),
        (
            "session_mood",
            &apache_avro::types::Value::String("unknown".into())
        )
    );
}

#[test]
fn bad_framing_is_reported_not_panicked() {
    let rt = runtime();
    let codec = Codec::single_object(SchemaSet::shipped());
    let good = rt
        .block_on(codec.encoder(LISTENING_EVENT, "unused"))
        .expect("encoder")
        .encode(event().to_avro())
        .expect("encodes");
    let decode = |bytes: &[u8]| {
        rt.block_on(codec.decode(bytes, LISTENING_EVENT))
            .expect_err("must fail")
    };

    let mut wrong_magic = good.clone();
    wrong_magic[0] = 0x00;
    assert!(matches!(decode(&wrong_magic), DecodeError::BadMagic { .. }));

    let mut unknown = good.clone();
    unknown[2] ^= 0xFF;
    assert!(matches!(
        decode(&unknown),
        DecodeError::UnknownFingerprint(_)
    ));

    assert!(matches!(
        decode(&good[..6]),
        DecodeError::Truncated { len: 6, needed: 10 }
    ));
    // Every cut inside the body is reported, including cuts before trailing null unions, which
    // apache-avro alone would read as nulls.
    for cut in 10..good.len() {
        assert!(
            matches!(decode(&good[..cut]), DecodeError::Body(_)),
            "cut at {cut}"
        );
    }

    let mut trailing = good.clone();
    trailing.extend_from_slice(&[1, 2]);
    assert!(matches!(decode(&trailing), DecodeError::Trailing(2)));

    let rejected = rt
        .block_on(codec.decode(&good, REJECTED_EVENT))
        .expect_err("other record");
    assert!(matches!(rejected, DecodeError::Incompatible { .. }));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_decoder(tail in proptest::collection::vec(any::<u8>(), 0..200)) {
        let rt = runtime();
        let codec = Codec::single_object(SchemaSet::shipped());
        let encoder = rt.block_on(codec.encoder(LISTENING_EVENT, "unused")).expect("encoder");
        let mut bytes = encoder.encode(event().to_avro()).expect("encodes")[..10].to_vec();
        bytes.extend_from_slice(&tail);
        let _ = rt.block_on(codec.decode(&bytes, LISTENING_EVENT));
    }
}

/// A FAKE schema registry: the Confluent Schema Registry is a JVM service that cannot be
/// installed here, so this implements the two documented calls the codec uses
/// (`POST /subjects/{subject}/versions`, `GET /schemas/ids/{id}`) in memory.
async fn fake_registry() -> (String, Arc<Mutex<Vec<String>>>) {
    use axum::{
        Json, Router,
        extract::{Path, State},
        http::StatusCode,
        routing::{get, post},
    };
    type Schemas = Arc<Mutex<Vec<String>>>;

    async fn register(
        State(s): State<Schemas>,
        Path(_subject): Path<String>,
        Json(body): Json<serde_json::Value>,
    ) -> Json<serde_json::Value> {
        let text = body["schema"].as_str().expect("schema text").to_owned();
        let mut schemas = s.lock().expect("lock");
        let id = match schemas.iter().position(|t| *t == text) {
            Some(i) => i,
            None => {
                schemas.push(text);
                schemas.len() - 1
            }
        };
        Json(serde_json::json!({ "id": id + 1 }))
    }
    async fn by_id(
        State(s): State<Schemas>,
        Path(id): Path<usize>,
    ) -> Result<Json<serde_json::Value>, StatusCode> {
        let schemas = s.lock().expect("lock");
        let text = schemas
            .get(id.wrapping_sub(1))
            .ok_or(StatusCode::NOT_FOUND)?;
        Ok(Json(serde_json::json!({ "schema": text })))
    }

    let schemas: Schemas = Arc::default();
    let app = Router::new()
        .route("/subjects/{subject}/versions", post(register))
        .route("/schemas/ids/{id}", get(by_id))
        .with_state(schemas.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, app).await });
    (url, schemas)
}

#[tokio::test]
async fn confluent_framing_round_trips_through_a_fake_registry() {
    let (url, registered) = fake_registry().await;
    let writer = Codec::from_registry_url(SchemaSet::shipped(), Some(&url));
    let bytes = writer
        .encoder(LISTENING_EVENT, "listening-events-value")
        .await
        .expect("registers")
        .encode(event().to_avro())
        .expect("encodes");
    assert_eq!(
        &bytes[..5],
        &[0, 0, 0, 0, 1],
        "magic byte then schema id 1, big-endian"
    );
    assert_eq!(registered.lock().expect("lock").len(), 1);

    // A reader that never registered anything fetches the schema by id.
    let reader = Codec::from_registry_url(SchemaSet::shipped(), Some(&url));
    let decoded = reader
        .decode(&bytes, LISTENING_EVENT)
        .await
        .expect("decodes");
    assert_eq!(
        ListeningEvent::from_avro(decoded.value).expect("record"),
        event()
    );

    let mut unknown = bytes.clone();
    unknown[4] = 9;
    assert!(matches!(
        reader.decode(&unknown, LISTENING_EVENT).await,
        Err(DecodeError::UnknownSchemaId(9))
    ));
    assert!(matches!(
        reader.decode(&bytes[..3], LISTENING_EVENT).await,
        Err(DecodeError::Truncated { .. })
    ));
    let mut magic = bytes.clone();
    magic[0] = 0xC3;
    assert!(matches!(
        reader.decode(&magic, LISTENING_EVENT).await,
        Err(DecodeError::BadMagic { .. })
    ));
}

#[test]
fn shipped_schema_fingerprint_is_stable() {
    // Consumers in other teams pin this fingerprint; changing the schema must be deliberate.
    let schema =
        Schema::parse_str(include_str!("../../../schemas/listening-event.avsc")).expect("parses");
    assert_eq!(fingerprint(&schema).len(), 8);
    let set = SchemaSet::shipped();
    assert!(set.by_fingerprint(&fingerprint(&schema)).is_some());
}
