//! Route tables in Redis steer the gateway: the champion alias without a table, a 50/50 split
//! sticky per listener (each listener's side computed here by hand from SHA-256), a 0/100 table
//! sending everyone to the candidate, a shadow version that is logged and never returned, and
//! the champion again once the table is deleted.

mod common;

use std::{
    collections::BTreeMap,
    time::{Duration, Instant},
};

use apache_avro::types::Value as Avro;
use lucid_tests::{Stack, unique};
use redis::AsyncCommands;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use tokio_util::sync::CancellationToken;

use common::{Gateway, Mlflow};

const LISTENERS: usize = 40;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn route_tables_split_sticky_send_all_to_one_version_and_shadow_unseen() {
    let stack = Stack::require();
    let mlflow_url = common::require_mlflow().await;
    let mlflow = Mlflow::new(&mlflow_url);
    let onnx = std::fs::read(common::fixture_onnx()).expect("the fixture model");
    let model = unique("skip-model");
    let mut versions = Vec::new();
    for _ in 0..3 {
        versions.push(mlflow.register(&model, &onnx).await);
    }
    let [v1, v2, v3] = [&versions[0], &versions[1], &versions[2]];
    mlflow.set_alias(&model, "champion", v1).await;

    let events = common::simulated_events(5);
    let shutdown = CancellationToken::new();
    let store = common::start_store(&stack, &events, shutdown.clone()).await;
    let gateway = Gateway::start(&stack, &mlflow_url, &store.grpc_addr.to_string(), &model).await;
    let mut redis = redis::Client::open(stack.redis_url.as_str())
        .expect("redis url")
        .get_multiplexed_async_connection()
        .await
        .expect("redis answers");
    let key = format!("{}:gateway:routes:{model}", gateway.prefix);
    let listeners: Vec<String> = (0..LISTENERS).map(|i| format!("listener-{i:03}")).collect();
    let mut requests = 0;

    // No table: the champion takes everyone.
    for user in &listeners {
        assert_eq!(
            infer(&gateway, user, "r").await,
            (v1.clone(), "STABLE".into())
        );
        requests += 1;
    }

    // 50/50: each listener on the side of their bucket, every time.
    let split = table(&[(v1, 50, "STABLE"), (v2, 50, "CANARY")], None);
    let _: () = redis.set(&key, split.to_string()).await.expect("set");
    wait_for_versions(&gateway, &[v1, v2]).await;
    let mut sides = BTreeMap::new();
    for user in &listeners {
        let expected = if bucket(&model, user) < 50 {
            (v1.clone(), "STABLE".to_owned())
        } else {
            (v2.clone(), "CANARY".to_owned())
        };
        for _ in 0..3 {
            assert_eq!(infer(&gateway, user, "r").await, expected, "{user}");
            requests += 1;
        }
        *sides.entry(expected.0).or_insert(0) += 1;
    }
    assert_eq!(sides.len(), 2, "both sides have listeners: {sides:?}");

    // 0/100: everyone on the candidate.
    let all = table(&[(v1, 0, "STABLE"), (v2, 100, "CANARY")], None);
    let _: () = redis.set(&key, all.to_string()).await.expect("set");
    let probe = listeners
        .iter()
        .find(|u| bucket(&model, u) < 50)
        .expect("a listener of the stable side");
    let deadline = Instant::now() + Duration::from_secs(10);
    while infer(&gateway, probe, "r").await.0 != *v2 {
        requests += 1;
        assert!(
            Instant::now() < deadline,
            "the 0/100 table was not put in service"
        );
    }
    requests += 1;
    for user in &listeners {
        assert_eq!(
            infer(&gateway, user, "r").await,
            (v2.clone(), "CANARY".into())
        );
        requests += 1;
    }

    // A shadow version scores every request, logged with route SHADOW, never returned.
    let shadowed = table(&[(v2, 100, "STABLE")], Some(v3));
    let _: () = redis.set(&key, shadowed.to_string()).await.expect("set");
    wait_for_versions(&gateway, &[v2, v3]).await;
    for (i, user) in listeners.iter().enumerate() {
        let answer = infer(&gateway, user, &format!("shadow-{i}")).await;
        assert_eq!(answer, (v2.clone(), "STABLE".into()));
        requests += 2;
    }

    // Table deleted: back to the champion.
    let _: () = redis.del(&key).await.expect("del");
    wait_for_versions(&gateway, &[v1]).await;
    assert_eq!(infer(&gateway, &listeners[0], "r").await.0, *v1);
    requests += 1;

    let logged = common::predictions(&stack.brokers, &gateway.predictions, requests).await;
    assert_eq!(
        logged.len(),
        requests,
        "one record per row scored, shadow included"
    );
    for i in 0..LISTENERS {
        let id = Avro::String(format!("shadow-{i}"));
        let mut routes: Vec<(Avro, Avro, Avro)> = logged
            .iter()
            .filter(|(_, f)| f["request_id"] == id)
            .map(|(_, f)| {
                (
                    f["route"].clone(),
                    f["model_version"].clone(),
                    f["score"].clone(),
                )
            })
            .collect();
        routes.sort_by_key(|(route, _, _)| format!("{route:?}"));
        assert_eq!(routes.len(), 2, "shadow-{i}: {routes:?}");
        // Sorted by route: STABLE (index 0) before SHADOW (index 4).
        assert_eq!(routes[0].0, Avro::Enum(0, "STABLE".into()));
        assert_eq!(routes[0].1, Avro::String(v2.clone()));
        assert_eq!(routes[1].0, Avro::Enum(4, "SHADOW".into()));
        assert_eq!(routes[1].1, Avro::String(v3.clone()));
        // The same ONNX file is registered as every version, so the scores agree.
        assert_eq!(routes[0].2, routes[1].2);
    }
    let shadows = logged
        .iter()
        .filter(|(_, f)| f["route"] == Avro::Enum(4, "SHADOW".into()))
        .count();
    assert_eq!(shadows, LISTENERS, "only requests under the shadow table");

    gateway.stop().await;
    shutdown.cancel();
    store.wait().await.expect("the feature store drains");
}

/// The listener's bucket, by hand: SHA-256 of model, a zero byte and the pseudonym; the first
/// eight bytes as a big-endian number, modulo 100.
fn bucket(model: &str, user: &str) -> u64 {
    let digest = Sha256::digest(format!("{model}\0{user}").as_bytes());
    let first: [u8; 8] = digest[..8].try_into().expect("8 bytes");
    u64::from_be_bytes(first) % 100
}

fn table(routes: &[(&String, u32, &str)], shadow: Option<&String>) -> Value {
    json!({
        "routes": routes.iter().map(|(v, w, r)| json!({"version": v, "weight": w, "route": r}))
            .collect::<Vec<_>>(),
        "shadow": shadow.map(|v| json!({"version": v})),
        "updated_ms": chrono::Utc::now().timestamp_millis(),
    })
}

/// One single-row inference for `user`; the version and route answered.
async fn infer(gateway: &Gateway, user: &str, request_id: &str) -> (String, String) {
    let body = common::entity_body(request_id, user, &[(format!("{user}-session"), 2)]);
    let (status, answer) = gateway.infer(&body).await;
    assert_eq!(status, 200, "{answer}");
    (
        answer["model_version"]
            .as_str()
            .expect("a version")
            .to_owned(),
        answer["parameters"]["route"]
            .as_str()
            .expect("a route")
            .to_owned(),
    )
}

/// Waits until the model's metadata lists exactly `versions` (the table is in service).
async fn wait_for_versions(gateway: &Gateway, versions: &[&String]) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let metadata: Value = reqwest::get(format!("{}/v2/models/{}", gateway.http, gateway.model))
            .await
            .expect("metadata answers")
            .json()
            .await
            .expect("json");
        if metadata["versions"] == json!(versions) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "table with {versions:?} not in service: {metadata}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
