//! The sender against a stand-in for ingestion on 127.0.0.1 that follows its contract:
//! per-event outcomes, 503 with `Retry-After` when some events are retryable, 401 for a bad key.

mod common;

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use lucid_events::{
    ErrorBody, ErrorResponse, EventInput, EventOutcome, PublishResponse, Reason, Rejection, Status,
};
use lucid_simulator::{Scenario, SendError, SendOptions, SimConfig, send_http, simulate};

const KEY: &str = "test-key";

/// What the stand-in does, and what it saw.
#[derive(Default)]
struct Ingestion {
    /// Refuse an event id as `unavailable` the first time it arrives, for about 5 ids in 16.
    flaky: bool,
    /// Refuse every event as `unavailable`, always.
    always_unavailable: bool,
    /// Answer this many first requests with a bare 502.
    gateway_errors: u32,
    requests: AtomicU32,
    received: Mutex<HashMap<String, u32>>,
    accepted: Mutex<HashSet<String>>,
}

fn flaky_id(id: &str) -> bool {
    id.starts_with(['0', '1', '2', '3', '4'])
}

async fn publish(
    State(ingestion): State<Arc<Ingestion>>,
    headers: HeaderMap,
    Json(events): Json<Vec<EventInput>>,
) -> Response {
    let request = ingestion.requests.fetch_add(1, Ordering::SeqCst);
    if headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        != Some("Bearer test-key")
    {
        let error = ErrorBody {
            code: "unauthenticated".into(),
            message: "bad api key".into(),
        };
        return (StatusCode::UNAUTHORIZED, Json(ErrorResponse { error })).into_response();
    }
    if request < ingestion.gateway_errors {
        return (StatusCode::BAD_GATEWAY, "bad gateway").into_response();
    }

    let mut received = ingestion.received.lock().expect("lock");
    let mut accepted = ingestion.accepted.lock().expect("lock");
    let mut results = Vec::new();
    for (index, event) in events.iter().enumerate() {
        let (index, id) = (index as u32, event.event_id.clone());
        let times = received.entry(id.clone()).or_default();
        *times += 1;
        let unavailable = Rejection::event(Reason::Unavailable, "broker did not confirm");
        let outcome = if event.user_id == "user-bad" {
            let rejection = Rejection::field(Reason::OutOfRange, "listened_ms", "too long");
            EventOutcome::rejected(index, Some(id), &rejection)
        } else if accepted.contains(&id) {
            EventOutcome::ok(index, Some(id), Status::Duplicate)
        } else if ingestion.always_unavailable || (ingestion.flaky && *times == 1 && flaky_id(&id))
        {
            EventOutcome::rejected(index, Some(id), &unavailable)
        } else {
            accepted.insert(id.clone());
            EventOutcome::ok(index, Some(id), Status::Accepted)
        };
        results.push(outcome);
    }

    let body = PublishResponse::from_results(results);
    if body.has_retryable() {
        (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::RETRY_AFTER, "0")],
            Json(body),
        )
            .into_response()
    } else {
        Json(body).into_response()
    }
}

async fn start(ingestion: Ingestion) -> (String, Arc<Ingestion>) {
    let ingestion = Arc::new(ingestion);
    let app = axum::Router::new()
        .route("/v1/events", axum::routing::post(publish))
        .with_state(ingestion.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind loopback");
    let url = format!("http://{}", listener.local_addr().expect("bound address"));
    tokio::spawn(async move { axum::serve(listener, app).await.expect("test server runs") });
    (url, ingestion)
}

/// `count` simulated events; every hundredth one belongs to `user-bad`, which is refused.
fn events(count: usize) -> Vec<EventInput> {
    let config = SimConfig {
        sessions: 200,
        ..common::config(Scenario::Baseline, 5)
    };
    let mut events = simulate(&common::catalog(), config).expect("simulates");
    assert!(events.len() >= count, "only {} events", events.len());
    events.truncate(count);
    for event in events.iter_mut().step_by(100) {
        event.user_id = "user-bad".into();
    }
    events
}

fn options(url: &str) -> SendOptions {
    SendOptions {
        backoff: Duration::from_millis(10),
        ..SendOptions::new(url, KEY)
    }
}

#[tokio::test]
async fn resends_only_retryable_events_and_never_accepted_ones() {
    let (url, ingestion) = start(Ingestion {
        flaky: true,
        ..Ingestion::default()
    })
    .await;
    let events = events(1_000);
    let sent = SendOptions {
        batch_size: 50,
        concurrency: 3,
        ..options(&url)
    };

    let summary = send_http(&events, &sent).await.expect("sends");

    let flaky: HashSet<&str> = events
        .iter()
        .filter(|e| e.user_id != "user-bad" && flaky_id(&e.event_id))
        .map(|e| e.event_id.as_str())
        .collect();
    assert!(flaky.len() > 200, "{} flaky ids", flaky.len());
    assert_eq!(summary.sent, 1_000);
    assert_eq!(summary.accepted, 990);
    assert_eq!(summary.duplicates, 0);
    assert_eq!(summary.rejected, [("out_of_range".to_owned(), 10)].into());
    assert_eq!(summary.unsent_total(), 0);
    assert_eq!(summary.retries, flaky.len() as u64);
    assert_eq!(
        summary.requests,
        20 * 2,
        "each batch of 50 holds a flaky id and is resent once"
    );

    let received = ingestion.received.lock().expect("lock");
    for event in &events {
        let expected = if flaky.contains(event.event_id.as_str()) {
            2
        } else {
            1
        };
        assert_eq!(received[&event.event_id], expected, "{}", event.event_id);
    }
}

#[tokio::test]
async fn gateway_errors_resend_the_whole_batch() {
    let (url, ingestion) = start(Ingestion {
        gateway_errors: 2,
        ..Ingestion::default()
    })
    .await;
    let events = events(300);
    let sent = SendOptions {
        batch_size: 100,
        concurrency: 1,
        ..options(&url)
    };

    let summary = send_http(&events, &sent).await.expect("sends");

    assert_eq!(summary.accepted, 297);
    assert_eq!(summary.rejected_total(), 3);
    assert_eq!(summary.retries, 200, "the first batch went out three times");
    assert_eq!(summary.requests, 5);
    assert_eq!(ingestion.requests.load(Ordering::SeqCst), 5);
}

#[tokio::test]
async fn gives_up_after_the_last_attempt() {
    let (url, _) = start(Ingestion {
        always_unavailable: true,
        ..Ingestion::default()
    })
    .await;
    let events = events(120);
    let sent = SendOptions {
        max_attempts: 3,
        ..options(&url)
    };

    let summary = send_http(&events, &sent).await.expect("sends");

    assert_eq!(summary.accepted, 0);
    assert_eq!(
        summary.rejected_total(),
        2,
        "refused events are final on the first attempt"
    );
    assert_eq!(summary.unsent, [("unavailable".to_owned(), 118)].into());
    assert_eq!(summary.retries, 2 * 118);
}

#[tokio::test]
async fn bad_key_stops_the_run_with_the_error_code() {
    let (url, _) = start(Ingestion::default()).await;
    let sent = SendOptions {
        api_key: "wrong".into(),
        ..options(&url)
    };

    let error = send_http(&events(10), &sent)
        .await
        .expect_err("unauthorised");
    assert!(
        matches!(&error, SendError::Refused { status: 401, code, .. } if code == "unauthenticated"),
        "{error:?}"
    );
    assert_eq!(
        error.to_string(),
        "ingestion refused the request with http 401: unauthenticated: bad api key"
    );
}

#[tokio::test]
async fn rate_spaces_requests() {
    let (url, _) = start(Ingestion::default()).await;
    let sent = SendOptions {
        batch_size: 50,
        rate: Some(1_000.0),
        ..options(&url)
    };

    let summary = send_http(&events(200), &sent).await.expect("sends");

    // Four requests of 50 events at 1,000 events/s leave at 0, 50, 100 and 150 ms.
    assert_eq!(summary.accepted, 198);
    assert!(
        summary.elapsed >= Duration::from_millis(150),
        "{:?}",
        summary.elapsed
    );
}

#[tokio::test]
async fn oversized_batches_are_refused_before_sending() {
    let sent = SendOptions {
        batch_size: 501,
        ..SendOptions::new("http://127.0.0.1:9", KEY)
    };
    let error = send_http(&[], &sent).await.expect_err("too large");
    assert_eq!(
        error.to_string(),
        "invalid send options: batch_size must lie between 1 and 500"
    );
}
