//! Traffic backends: where a rollout's weights take effect.
//!
//! - `local`: the route table as JSON in Redis (`lucid_routes::key`), read by the model gateway.
//! - `kserve`: a JSON merge patch (RFC 7386) of the model's InferenceService through the
//!   Kubernetes API, `PATCH /apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices/{name}`
//!   with `Content-Type: application/merge-patch+json`. KServe's canary rollout works on the
//!   predictor's revisions: the patch sets `spec.predictor.model.storageUri` to the candidate
//!   and `spec.predictor.canaryTrafficPercent` to its weight (0 rolls back to the previous
//!   ready revision); promotion removes `canaryTrafficPercent` (null in a merge patch), which
//!   sends all traffic to the latest revision. KServe has no shadow traffic: a blue-green
//!   preview has no candidate numbers there and stays inconclusive.

use std::path::PathBuf;

use anyhow::Context as _;
use lucid_routes::RouteTable;
use serde_json::json;

use crate::config::{KserveConfig, TrafficBackend, TrafficConfig};
use crate::rollout::{Rollout, State, weight_of};
use crate::store::Store;

/// Applies route tables.
#[derive(Clone)]
pub enum Traffic {
    /// Redis tables for the model gateway.
    Local(Store),
    /// KServe InferenceServices.
    Kserve(Kserve),
}

impl Traffic {
    /// The configured backend.
    pub fn new(config: &TrafficConfig, store: Store) -> Traffic {
        match config.backend {
            TrafficBackend::Local => Traffic::Local(store),
            TrafficBackend::Kserve => Traffic::Kserve(Kserve::new(config.kserve.clone())),
        }
    }

    /// Backend name, for metrics and logs.
    pub fn name(&self) -> &'static str {
        match self {
            Traffic::Local(_) => "local",
            Traffic::Kserve(_) => "kserve",
        }
    }

    /// Puts `table` of `rollout`'s model in force.
    pub async fn apply(&self, rollout: &Rollout, table: &RouteTable) -> anyhow::Result<()> {
        match self {
            Traffic::Local(store) => {
                let key = lucid_routes::key(store.prefix(), &rollout.model);
                store
                    .set_raw(&key, &table.to_json())
                    .await
                    .context("failed to write the route table to redis")
            }
            Traffic::Kserve(kserve) => kserve.apply(rollout, table).await,
        }
    }
}

/// The Kubernetes API client for InferenceServices.
#[derive(Clone)]
pub struct Kserve {
    http: reqwest::Client,
    config: KserveConfig,
}

impl Kserve {
    /// A client; the token file is read on every call, as service account tokens rotate.
    pub fn new(config: KserveConfig) -> Kserve {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("a client with a timeout and default TLS builds");
        Kserve { http, config }
    }

    /// The merge patch that puts `table` in force.
    pub fn patch(&self, rollout: &Rollout, table: &RouteTable) -> serde_json::Value {
        if rollout.state == State::Promoted {
            return json!({"spec": {"predictor": {"canaryTrafficPercent": null}}});
        }
        let uri = self
            .config
            .storage_uri
            .replace("{model}", &rollout.model)
            .replace("{version}", &rollout.to_version);
        json!({"spec": {"predictor": {
            "canaryTrafficPercent": weight_of(table, &rollout.to_version),
            "model": {"storageUri": uri},
        }}})
    }

    /// The InferenceService's URL.
    pub fn url(&self, model: &str) -> String {
        format!(
            "{}/apis/serving.kserve.io/v1beta1/namespaces/{}/inferenceservices/{}",
            self.config.api_url.trim_end_matches('/'),
            self.config.namespace,
            self.config.service_name.replace("{model}", model)
        )
    }

    async fn apply(&self, rollout: &Rollout, table: &RouteTable) -> anyhow::Result<()> {
        if table.shadow.is_some() {
            tracing::warn!(
                model = rollout.model,
                "kserve has no shadow traffic: preview skipped"
            );
        }
        let mut request = self
            .http
            .patch(self.url(&rollout.model))
            .header("content-type", "application/merge-patch+json")
            .body(self.patch(rollout, table).to_string());
        if let Some(token) = self.token()? {
            request = request.bearer_auth(token);
        }
        let response = request
            .send()
            .await
            .context("failed to reach the kubernetes api")?;
        let status = response.status();
        if !status.is_success() {
            let body = response.text().await.unwrap_or_default();
            anyhow::bail!("kubernetes api refused the patch with {status}: {body}");
        }
        Ok(())
    }

    fn token(&self) -> anyhow::Result<Option<String>> {
        let Some(path): Option<&PathBuf> = self.config.token_file.as_ref() else {
            return Ok(None);
        };
        if !path.exists() {
            return Ok(None);
        }
        let token = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read the token file {}", path.display()))?;
        Ok(Some(token.trim().to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use axum::{Router, body::Bytes, extract::State as Axum, http::HeaderMap, routing::patch};

    use super::*;
    use crate::rollout::{OnInconclusive, Policy, Start, Strategy};

    type Seen = Arc<Mutex<Vec<(String, String, String, serde_json::Value)>>>;

    /// A fake Kubernetes API: answers the InferenceService merge patch as the real API server
    /// does (200 with the object) and records what it was sent.
    async fn fake_kubernetes_api() -> (String, Seen) {
        let seen: Seen = Arc::default();
        let app = Router::new()
            .route(
                "/apis/serving.kserve.io/v1beta1/namespaces/{ns}/inferenceservices/{name}",
                patch(
                    |Axum(seen): Axum<Seen>,
                     axum::extract::Path((ns, name)): axum::extract::Path<(String, String)>,
                     headers: HeaderMap,
                     body: Bytes| async move {
                        let header = |h: &str| {
                            headers
                                .get(h)
                                .and_then(|v| v.to_str().ok())
                                .unwrap_or_default()
                                .to_owned()
                        };
                        if header("content-type") != "application/merge-patch+json" {
                            return (
                                axum::http::StatusCode::UNSUPPORTED_MEDIA_TYPE,
                                String::new(),
                            );
                        }
                        let patch: serde_json::Value =
                            serde_json::from_slice(&body).expect("json patch");
                        seen.lock().expect("lock").push((
                            format!("{ns}/{name}"),
                            header("content-type"),
                            header("authorization"),
                            patch.clone(),
                        ));
                        let object = json!({"apiVersion": "serving.kserve.io/v1beta1",
                            "kind": "InferenceService", "metadata": {"name": name, "namespace": ns},
                            "spec": patch["spec"]});
                        (axum::http::StatusCode::OK, object.to_string())
                    },
                ),
            )
            .with_state(seen.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}"), seen)
    }

    #[tokio::test]
    async fn kserve_backend_patches_canary_percent_through_the_fake_kubernetes_api() {
        let (url, seen) = fake_kubernetes_api().await;
        let dir = std::env::temp_dir().join(format!("lucid-token-{}", uuid::Uuid::new_v4()));
        std::fs::write(&dir, "secret-token\n").expect("token file");
        let kserve = Kserve::new(KserveConfig {
            api_url: url,
            namespace: "lucid".into(),
            token_file: Some(dir.clone()),
            service_name: "{model}-isvc".into(),
            storage_uri: "s3://models/{model}/{version}".into(),
        });
        let (mut rollout, started) = Rollout::start(Start {
            id: "r".into(),
            model: "skip-model".into(),
            from_version: Some("3".into()),
            previous: None,
            to_version: "4".into(),
            strategy: Strategy::Canary,
            policy: Policy {
                steps: vec![10, 50, 100],
                step_duration_ms: 1,
                step_timeout_ms: 1,
                post_promotion_ms: 1,
                thresholds: Default::default(),
                on_inconclusive: OnInconclusive::Pause,
            },
            now_ms: 0,
        })
        .expect("starts");
        kserve
            .apply(&rollout, &started.traffic)
            .await
            .expect("step");
        let aborted = rollout.abort(1, "").expect("abort");
        kserve
            .apply(&rollout, &aborted.traffic)
            .await
            .expect("abort");
        rollout.state = State::Promoted;
        kserve
            .apply(&rollout, &rollout.traffic(2))
            .await
            .expect("promote");
        let _ = std::fs::remove_file(dir);

        let seen = seen.lock().expect("lock").clone();
        assert_eq!(seen.len(), 3);
        for (target, content_type, auth, _) in &seen {
            assert_eq!(target, "lucid/skip-model-isvc");
            assert_eq!(content_type, "application/merge-patch+json");
            assert_eq!(auth, "Bearer secret-token");
        }
        assert_eq!(
            seen[0].3,
            json!({"spec": {"predictor": {"canaryTrafficPercent": 10,
                "model": {"storageUri": "s3://models/skip-model/4"}}}})
        );
        assert_eq!(seen[1].3["spec"]["predictor"]["canaryTrafficPercent"], 0);
        assert_eq!(
            seen[2].3,
            json!({"spec": {"predictor": {"canaryTrafficPercent": null}}})
        );
    }
}
