//! Bad input gets exact status codes and per-event reasons, and every refused event lands on
//! the dead-letter topic with its reason and without the raw user id.

use std::{collections::BTreeMap, time::Duration};

use chrono::{SecondsFormat, Utc};
use lucid_avro::{Codec, REJECTED_EVENT, SchemaSet};
use lucid_events::{ErrorResponse, PublishResponse, RejectedEvent, Status};
use lucid_tests::{
    Stack, broker, expected_pseudonym,
    ingestion::{Ingestion, PSEUDONYM_KEY},
};
use serde_json::{Value, json};

fn play(id: &str) -> Value {
    json!({
        "event_id": id,
        "user_id": "alice-raw-id",
        "session_id": "s-1",
        "event_time": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "action": "play",
        "track_id": 2,
        "position": 0,
        "listened_ms": 1000,
        "track_duration_ms": 180000,
        "context": "playlist",
        "platform": "ios",
        "app_version": "4.12.0"
    })
}

fn with(id: &str, field: &str, value: Value) -> Value {
    let mut event = play(id);
    event[field] = value;
    event
}

fn camel_case_user(id: &str) -> Value {
    let mut event = play(id);
    let object = event.as_object_mut().expect("object");
    let raw = object.remove("user_id").expect("user_id");
    object.insert("userId".into(), raw);
    event
}

async fn error_code(response: reqwest::Response) -> (u16, String) {
    let status = response.status().as_u16();
    let body: ErrorResponse = response.json().await.expect("error body");
    (status, body.error.code)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_exact_statuses_reasons_and_dead_letters() {
    let stack = Stack::require();
    let ingestion = Ingestion::start(&stack).await;

    // Request-level refusals.
    assert_eq!(
        error_code(ingestion.post_with_key("[]", None).await).await,
        (401, "unauthenticated".into())
    );
    assert_eq!(
        error_code(ingestion.post_with_key("[]", Some("wrong")).await).await,
        (401, "unauthenticated".into())
    );
    assert_eq!(
        error_code(ingestion.post("[{\"event_id\": ").await).await,
        (400, "malformed_json".into())
    );
    assert_eq!(
        error_code(ingestion.post(play("lonely").to_string()).await).await,
        (400, "not_an_array".into())
    );
    let too_many: Vec<Value> = (0..501).map(|i| play(&format!("bulk-{i}"))).collect();
    assert_eq!(
        error_code(
            ingestion
                .post(serde_json::to_vec(&too_many).expect("json"))
                .await
        )
        .await,
        (413, "too_many_events".into())
    );
    let unauthorized = ingestion.post_with_key("[]", None).await;
    assert_eq!(unauthorized.headers()["www-authenticate"], "Bearer");
    let client = reqwest::Client::new();
    let url = format!("{}/v1/events", ingestion.url);
    let text = client
        .post(&url)
        .bearer_auth(lucid_tests::ingestion::API_KEY)
        .header("content-type", "text/plain")
        .body("[]")
        .send()
        .await
        .expect("answer");
    assert_eq!(
        error_code(text).await,
        (415, "unsupported_media_type".into())
    );
    assert_eq!(
        error_code(client.get(&url).send().await.expect("answer")).await,
        (405, "method_not_allowed".into())
    );
    assert_eq!(
        error_code(client.post(format!("{url}/")).send().await.expect("answer")).await,
        (404, "not_found".into())
    );
    // Clients put identifiers in unexpected places; none of them may reach the dead-letter topic.
    let nested = json!({"events": [play("nested")]}).to_string();
    assert_eq!(
        error_code(ingestion.post(nested).await).await,
        (400, "not_an_array".into())
    );
    let huge = format!("[\"{}\"]", "x".repeat(2 * 1024 * 1024));
    assert_eq!(
        error_code(ingestion.post(huge).await).await,
        (413, "body_too_large".into())
    );

    // Per-event refusals in one batch, with one good event and an in-batch repeat.
    let mut unknown = play("e-unknown");
    unknown["volume"] = json!(11);
    let batch = vec![
        play("e-good"),
        unknown,
        with("e-type", "listened_ms", json!("long")),
        with("e-range", "listened_ms", json!(-5)),
        with("e-enum", "action", json!("rewind")),
        with("e-future", "event_time", json!("2099-01-01T00:00:00Z")),
        with("e-mood", "mood_valence", json!(5)),
        json!(42),
        play("e-good"),
        camel_case_user("e-camel"),
        with("e-numeric-user", "user_id", json!(4_915_112_345_678_i64)),
    ];
    let response = ingestion
        .post(serde_json::to_vec(&batch).expect("json"))
        .await;
    assert_eq!(response.status(), 200);
    let answer: PublishResponse = response.json().await.expect("publish response");
    let summary: Vec<(Status, Option<&str>, Option<&str>)> = answer
        .results
        .iter()
        .map(|r| (r.status, r.reason.as_deref(), r.field.as_deref()))
        .collect();
    assert_eq!(
        summary,
        vec![
            (Status::Accepted, None, None),
            (Status::Rejected, Some("unknown_field"), Some("volume")),
            (Status::Rejected, Some("invalid_type"), Some("listened_ms")),
            (Status::Rejected, Some("out_of_range"), Some("listened_ms")),
            (Status::Rejected, Some("invalid_value"), Some("action")),
            (
                Status::Rejected,
                Some("event_time_in_future"),
                Some("event_time")
            ),
            (
                Status::Rejected,
                Some("field_not_allowed"),
                Some("mood_valence")
            ),
            (Status::Rejected, Some("not_an_object"), None),
            (Status::Duplicate, None, None),
            (Status::Rejected, Some("unknown_field"), Some("userId")),
            (Status::Rejected, Some("invalid_type"), Some("user_id")),
        ]
    );
    assert_eq!(
        (answer.accepted, answer.duplicates, answer.rejected),
        (1, 1, 9)
    );

    // A repeated event id in a later request.
    let again = ingestion
        .post(serde_json::to_vec(&[play("e-good")]).expect("json"))
        .await;
    let again: PublishResponse = again.json().await.expect("publish response");
    assert_eq!(again.results[0].status, Status::Duplicate);

    // Dead letters: the 9 refused events, the malformed body, the lone and the nested object.
    let records = broker::read_topic(
        &stack.brokers,
        &ingestion.dlq_topic,
        12,
        Duration::from_secs(20),
    )
    .await;
    let codec = Codec::single_object(SchemaSet::shipped());
    let mut reasons = BTreeMap::new();
    let pseudonym = expected_pseudonym(PSEUDONYM_KEY, "alice-raw-id");
    for record in &records {
        let text = String::from_utf8_lossy(&record.payload);
        assert!(
            !text.contains("alice-raw-id"),
            "raw user id in the dead-letter topic: {text}"
        );

        let decoded = codec
            .decode(&record.payload, REJECTED_EVENT)
            .await
            .expect("dead letter decodes");
        let rejected = RejectedEvent::from_avro(decoded.value).expect("a RejectedEvent");
        if let Some(payload) = &rejected.payload {
            let payload: Value = serde_json::from_slice(payload).expect("payload is json");
            if let Some(id) = payload.get("user_id").and_then(Value::as_str)
                && !id.starts_with("[removed")
            {
                assert_eq!(id, pseudonym.as_str());
            }
        }
        *reasons.entry(rejected.reason).or_insert(0) += 1;
    }
    let expected: BTreeMap<String, i32> = [
        ("unknown_field", 2),
        ("invalid_type", 2),
        ("out_of_range", 1),
        ("invalid_value", 1),
        ("event_time_in_future", 1),
        ("field_not_allowed", 1),
        ("not_an_object", 1),
        ("malformed_json", 1),
        ("not_an_array", 2),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect();
    assert_eq!(reasons, expected);

    let accepted = broker::read_topic(
        &stack.brokers,
        &ingestion.events_topic,
        1,
        Duration::from_secs(10),
    )
    .await;
    assert_eq!(accepted.len(), 1, "only the good event is produced, once");
    ingestion.stop().await;
}
