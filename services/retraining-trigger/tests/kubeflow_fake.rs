//! The `kubeflow` backend against a fake Kubeflow API: an in-test HTTP server that reproduces
//! the documented request and response shapes of Kubeflow Pipelines' v2beta1 REST API
//! (`GET/POST /apis/v2beta1/runs`, `GET /apis/v2beta1/runs/{run_id}`,
//! `POST /apis/v2beta1/runs/{run_id}:terminate`; runs as `V2beta1Run` with `run_id`,
//! `display_name`, `state`, `error`; empty lists as `{}`, as the gRPC gateway omits empty
//! fields). Kubeflow itself cannot run on this machine; this is not a real Kubeflow.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use axum::{
    Json, Router,
    extract::{Path, Query, State},
    http::{HeaderMap, StatusCode},
    routing::get,
};
use lucid_config::Secret;
use lucid_retraining_trigger::{
    backend::{Backend, Job, Outcome, Progress, kubeflow::Kubeflow},
    config::KubeflowConfig,
};
use serde_json::{Value, json};

/// What the fake Kubeflow API holds and saw.
#[derive(Default)]
struct Fake {
    /// Runs by id, with the states each GET walks through.
    runs: BTreeMap<String, (Value, Vec<&'static str>)>,
    /// Method, path and body of every request.
    requests: Vec<(String, String, Value)>,
    /// Authorization headers seen.
    tokens: Vec<String>,
}

type Shared = Arc<Mutex<Fake>>;

fn record(fake: &Shared, headers: &HeaderMap, method: &str, path: String, body: Value) {
    let mut fake = fake.lock().expect("not poisoned");
    fake.requests.push((method.into(), path, body));
    let token = headers.get("authorization").and_then(|v| v.to_str().ok());
    fake.tokens.push(token.unwrap_or("").into());
}

async fn list(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Query(query): Query<BTreeMap<String, String>>,
) -> Json<Value> {
    record(
        &fake,
        &headers,
        "GET",
        "/apis/v2beta1/runs".into(),
        json!(query),
    );
    let filter: Value = serde_json::from_str(query.get("filter").map_or("{}", |f| f.as_str()))
        .expect("the filter is JSON");
    let predicate = &filter["predicates"][0];
    assert_eq!(predicate["key"], "display_name");
    assert_eq!(predicate["operation"], "EQUALS");
    let name = predicate["string_value"].as_str().expect("a string value");
    let fake = fake.lock().expect("not poisoned");
    let runs: Vec<Value> = fake
        .runs
        .values()
        .filter(|(run, _)| run["display_name"] == name)
        .map(|(run, _)| run.clone())
        .collect();
    if runs.is_empty() {
        return Json(json!({}));
    }
    Json(json!({ "runs": runs, "total_size": runs.len() }))
}

async fn create(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> Json<Value> {
    record(
        &fake,
        &headers,
        "POST",
        "/apis/v2beta1/runs".into(),
        body.clone(),
    );
    let run_id = uuid::Uuid::new_v4().to_string();
    let failing = body["display_name"]
        .as_str()
        .is_some_and(|n| n.contains("failing"));
    let states = if failing {
        vec!["RUNNING", "FAILED"]
    } else {
        vec!["RUNNING", "RUNNING", "SUCCEEDED"]
    };
    let mut run = body.clone();
    run["run_id"] = json!(run_id);
    run["state"] = json!("PENDING");
    run["created_at"] = json!("2026-12-03T12:00:00Z");
    fake.lock()
        .expect("not poisoned")
        .runs
        .insert(run_id, (run.clone(), states));
    Json(run)
}

async fn one(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    record(
        &fake,
        &headers,
        "GET",
        format!("/apis/v2beta1/runs/{id}"),
        Value::Null,
    );
    let mut fake = fake.lock().expect("not poisoned");
    let (run, states) = fake.runs.get_mut(&id).ok_or(StatusCode::NOT_FOUND)?;
    if !states.is_empty() {
        run["state"] = json!(states.remove(0));
    }
    if run["state"] == "FAILED" {
        run["error"] = json!({"code": 2, "message": "task train-skip-model failed", "details": []});
    }
    Ok(Json(run.clone()))
}

async fn action(
    State(fake): State<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Result<Json<Value>, StatusCode> {
    record(
        &fake,
        &headers,
        "POST",
        format!("/apis/v2beta1/runs/{id}"),
        Value::Null,
    );
    let run_id = id.strip_suffix(":terminate").ok_or(StatusCode::NOT_FOUND)?;
    let mut fake = fake.lock().expect("not poisoned");
    let (run, states) = fake.runs.get_mut(run_id).ok_or(StatusCode::NOT_FOUND)?;
    run["state"] = json!("CANCELING");
    *states = vec!["CANCELED"];
    Ok(Json(json!({})))
}

async fn fake_kubeflow() -> (String, Shared) {
    let fake = Shared::default();
    let router = Router::new()
        .route("/apis/v2beta1/runs", get(list).post(create))
        .route("/apis/v2beta1/runs/{id}", get(one).post(action))
        .with_state(fake.clone());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    tokio::spawn(async move { axum::serve(listener, router).await });
    (url, fake)
}

fn backend(url: &str) -> Kubeflow {
    Kubeflow::new(KubeflowConfig {
        url: url.into(),
        pipeline_id: "pl-1".into(),
        pipeline_version_id: "pv-1".into(),
        experiment_id: Some("exp-1".into()),
        token: Some(Secret::new("t0ken")),
        parameters: BTreeMap::from([("offline_dir".to_string(), json!("/data/offline"))]),
    })
}

fn job(key: &str) -> Job {
    Job {
        run_id: "r1".into(),
        dedupe_key: key.into(),
        model_name: "skip-model".into(),
        alert_ids: vec!["a1".into(), "a2".into()],
    }
}

#[tokio::test]
async fn a_run_is_created_once_per_dedupe_key_and_polled_to_its_end() {
    let (url, fake) = fake_kubeflow().await;
    let kubeflow = backend(&url);
    let job = job("retrain-skip-model-f2f0cbcdc0daebae");

    let id = kubeflow.start(&job).await.expect("created");
    let again = kubeflow.start(&job).await.expect("found");
    assert_eq!(again, id, "the second start finds the first run");

    let mut seen = Vec::new();
    loop {
        let progress = kubeflow.poll(&job, &id).await.expect("polled");
        let done = progress != Progress::Running;
        seen.push(progress);
        if done {
            break;
        }
    }
    let expected = vec![
        Progress::Running,
        Progress::Running,
        Progress::Succeeded(Outcome::default()),
    ];
    assert_eq!(seen, expected);

    let fake = fake.lock().expect("not poisoned");
    let posts: Vec<_> = fake.requests.iter().filter(|r| r.0 == "POST").collect();
    assert_eq!(posts.len(), 1, "one create for two starts");
    let body = &posts[0].2;
    assert_eq!(body["display_name"], job.dedupe_key.as_str());
    assert_eq!(body["experiment_id"], "exp-1");
    assert_eq!(
        body["pipeline_version_reference"],
        json!({"pipeline_id": "pl-1", "pipeline_version_id": "pv-1"})
    );
    assert_eq!(
        body["runtime_config"]["parameters"],
        json!({
            "offline_dir": "/data/offline",
            "dedupe_key": job.dedupe_key,
            "alert_ids": "a1,a2",
            "model_name": "skip-model",
        })
    );
    let lists: Vec<_> = fake
        .requests
        .iter()
        .filter(|r| r.1 == "/apis/v2beta1/runs" && r.0 == "GET")
        .collect();
    assert_eq!(lists.len(), 2, "each start checks for the key first");
    assert_eq!(lists[0].2["experiment_id"], "exp-1");
    assert!(
        fake.tokens.iter().all(|t| t == "Bearer t0ken"),
        "{:?}",
        fake.tokens
    );
}

#[tokio::test]
async fn a_failed_run_reports_kubeflows_error_and_a_stop_terminates() {
    let (url, fake) = fake_kubeflow().await;
    let kubeflow = backend(&url);

    let failing = job("retrain-failing-1");
    let id = kubeflow.start(&failing).await.expect("created");
    assert_eq!(
        kubeflow.poll(&failing, &id).await.expect("polled"),
        Progress::Running
    );
    assert_eq!(
        kubeflow.poll(&failing, &id).await.expect("polled"),
        Progress::Failed("kubeflow run FAILED: task train-skip-model failed".into())
    );

    let stopped = job("retrain-stopped-1");
    let id = kubeflow.start(&stopped).await.expect("created");
    kubeflow.stop(&stopped, &id).await.expect("terminated");
    assert_eq!(
        kubeflow.poll(&stopped, &id).await.expect("polled"),
        Progress::Failed("kubeflow run CANCELED".into())
    );
    let terminate = format!("/apis/v2beta1/runs/{id}:terminate");
    let terminated = {
        let fake = fake.lock().expect("not poisoned");
        fake.requests
            .iter()
            .any(|r| r.0 == "POST" && r.1 == terminate)
    };
    assert!(terminated, "no POST {terminate}");

    // An unknown run is a refusal (404), not a retry.
    let error = kubeflow
        .poll(&stopped, "no-such-run")
        .await
        .expect_err("404");
    assert!(!error.retryable(), "{error}");
}
