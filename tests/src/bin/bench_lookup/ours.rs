//! Our feature store's side: gRPC lookups, and a snapshot of every user's values for Feast.

use lucid_proto::features::v1::{
    GetOnlineFeaturesRequest, feature_service_client::FeatureServiceClient,
};
use tonic::transport::Channel;

use crate::{FEATURES, load::Lookup};

/// Most ids one request may carry (proto/lucid/features/v1/features.proto).
const MAX_IDS: usize = 1000;

/// Every user's bench features as our store answers them at one request time.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// The request time, UTC milliseconds since the epoch (a whole second).
    pub at_ms: i64,
    /// Each user's id and values in the order of [`FEATURES`]; `None` where ours has none.
    pub rows: Vec<(String, Vec<Option<f64>>)>,
}

/// One gRPC connection to our feature store.
pub struct Ours(FeatureServiceClient<Channel>);

impl Ours {
    /// Opens a connection to the store's gRPC endpoint, `http://host:port`.
    pub async fn connect(url: &str) -> Ours {
        let client = FeatureServiceClient::connect(url.to_owned())
            .await
            .expect("the store's gRPC endpoint accepts connections");
        Ours(client)
    }

    /// Reads all `users` at `at_ms`, at most [`MAX_IDS`] per request.
    pub async fn snapshot(&mut self, users: &[String], at_ms: i64) -> Snapshot {
        let mut rows = Vec::with_capacity(users.len());
        for batch in users.chunks(MAX_IDS) {
            let answer = self
                .0
                .get_online_features(request(batch, Some(at_ms)))
                .await
                .expect("snapshot lookup")
                .into_inner();
            assert_eq!(answer.features, request(batch, None).features);
            rows.extend(answer.entities.into_iter().map(|entity| {
                let values = entity.values.iter().map(|v| v.value).collect();
                (entity.entity_id, values)
            }));
        }
        Snapshot { at_ms, rows }
    }
}

impl Lookup for Ours {
    async fn lookup(&mut self, ids: &[String]) -> usize {
        let answer = self
            .0
            .get_online_features(request(ids, None))
            .await
            .expect("lookup")
            .into_inner();
        answer.entities.len()
    }
}

/// The 20 bench features of `ids`, as of `at_ms` (default: now).
fn request(ids: &[String], at_ms: Option<i64>) -> GetOnlineFeaturesRequest {
    GetOnlineFeaturesRequest {
        entity_type: "user".into(),
        entity_ids: ids.to_vec(),
        features: FEATURES.iter().map(|f| format!("user_bench:{f}")).collect(),
        feature_service: String::new(),
        request_time_unix_ms: at_ms,
    }
}
