//! A model's features, fetched from the feature store over gRPC.
//!
//! A model names its features `<view>:<feature>` in its ONNX metadata. Each view is about one
//! entity type (session, user or track), which the feature store declares
//! (`ListFeatureViews`). A [`FeaturePlan`] groups the model's features by entity type, as the
//! training backfill does (`crates/lucid-offline/src/backfill.rs`): for a scored play, the
//! session's features are read by its session id, the user's by the pseudonym and the track's
//! by its id. One `GetOnlineFeatures` call per entity type carries every row of a request.
//!
//! Training sets hold a value only when its status is `present`, and null otherwise (not found,
//! stale); the model imputes nulls. So here, too, only present values reach the model, and the
//! others are `None` (NaN in the row).

use std::{collections::HashMap, sync::Arc, time::Duration};

use lucid_proto::features::v1::{
    self as pb, feature_service_client::FeatureServiceClient, feature_value::Status,
};
use tokio::sync::RwLock;
use tonic::transport::Channel;

/// The entity types of the feature store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Entity {
    /// A listening session, by session id.
    Session,
    /// A listener, by pseudonym.
    User,
    /// A catalog track, by decimal id.
    Track,
}

impl Entity {
    fn from_name(name: &str) -> Option<Self> {
        match name {
            "session" => Some(Entity::Session),
            "user" => Some(Entity::User),
            "track" => Some(Entity::Track),
            _ => None,
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            Entity::Session => "session",
            Entity::User => "user",
            Entity::Track => "track",
        }
    }
}

/// The entities one row of an entity-id request names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntityRow {
    /// The listener's pseudonym.
    pub user: String,
    /// The listening session.
    pub session: String,
    /// The track to score, when given.
    pub track: Option<i64>,
}

impl EntityRow {
    fn id(&self, entity: Entity) -> Option<String> {
        match entity {
            Entity::Session => Some(self.session.clone()),
            Entity::User => Some(self.user.clone()),
            Entity::Track => self.track.map(|t| t.to_string()),
        }
    }
}

/// Why features could not be fetched or planned.
#[derive(Debug, thiserror::Error)]
pub enum FeatureError {
    /// The feature store did not answer in time or is down; retrying may help.
    #[error("feature store unavailable: {0}")]
    Unavailable(String),
    /// The feature store refused the lookup (a model feature it does not serve).
    #[error("feature store refused the lookup: {0}")]
    Refused(String),
    /// A model feature belongs to no view the feature store declares.
    #[error("feature {0:?} belongs to no feature view of the feature store")]
    UnknownView(String),
}

/// A model's features grouped by entity type, with their column in the model's rows.
#[derive(Debug, Clone)]
pub struct FeaturePlan {
    width: usize,
    groups: Vec<(Entity, Vec<String>, Vec<usize>)>,
}

impl FeaturePlan {
    /// Plans `features` (in row order) against the view → entity map of the feature store.
    pub fn new(
        features: &[String],
        views: &HashMap<String, Entity>,
    ) -> Result<FeaturePlan, FeatureError> {
        let mut groups: Vec<(Entity, Vec<String>, Vec<usize>)> = Vec::new();
        for (index, name) in features.iter().enumerate() {
            // Not yet: request-time track attributes (catalog energy, valence of the scored
            // track), because the skip model's features are all view aggregates.
            let view = name.split_once(':').map_or(name.as_str(), |(v, _)| v);
            let entity = *views
                .get(view)
                .ok_or_else(|| FeatureError::UnknownView(name.clone()))?;
            match groups.iter_mut().find(|(e, _, _)| *e == entity) {
                Some((_, names, indexes)) => {
                    names.push(name.clone());
                    indexes.push(index);
                }
                None => groups.push((entity, vec![name.clone()], vec![index])),
            }
        }
        Ok(FeaturePlan {
            width: features.len(),
            groups,
        })
    }

    /// Whether the model reads features of `entity`.
    pub fn needs(&self, entity: Entity) -> bool {
        self.groups.iter().any(|(e, _, _)| *e == entity)
    }
}

/// Feature view name → the entity type it is about.
type Views = HashMap<String, Entity>;

/// The feature store client, with the store's view declarations cached.
#[derive(Clone)]
pub struct FeatureStore {
    client: FeatureServiceClient<Channel>,
    timeout: Duration,
    views: Arc<RwLock<Option<Arc<Views>>>>,
}

impl FeatureStore {
    /// A client of the store at `url`; it connects on first use.
    pub fn new(url: &str, timeout: Duration) -> anyhow::Result<FeatureStore> {
        let channel = tonic::transport::Endpoint::from_shared(url.to_owned())?
            .connect_timeout(timeout)
            .tcp_nodelay(true)
            .connect_lazy();
        Ok(FeatureStore {
            client: FeatureServiceClient::new(channel),
            timeout,
            views: Arc::new(RwLock::new(None)),
        })
    }

    /// The plan of `features`; reads the store's views the first time, and again when a feature
    /// names a view not seen before (the store may have been redeployed with more).
    pub async fn plan(&self, features: &[String]) -> Result<FeaturePlan, FeatureError> {
        if let Some(views) = self.views.read().await.clone()
            && let Ok(plan) = FeaturePlan::new(features, &views)
        {
            return Ok(plan);
        }
        let views = Arc::new(self.list_views().await?);
        *self.views.write().await = Some(views.clone());
        FeaturePlan::new(features, &views)
    }

    async fn list_views(&self) -> Result<HashMap<String, Entity>, FeatureError> {
        let mut client = self.client.clone();
        let mut request = tonic::Request::new(pb::ListFeatureViewsRequest {});
        request.set_timeout(self.timeout);
        let answer = client
            .list_feature_views(request)
            .await
            .map_err(status_error)?;
        Ok(answer
            .into_inner()
            .views
            .into_iter()
            .filter_map(|v| Some((v.name, Entity::from_name(&v.entity_type)?)))
            .collect())
    }

    /// The values of `plan`'s features for each row, in the model's order; `None` unless
    /// present (see the module header).
    pub async fn fetch(
        &self,
        plan: &FeaturePlan,
        rows: &[EntityRow],
        as_of_ms: Option<i64>,
    ) -> Result<Vec<Vec<Option<f64>>>, FeatureError> {
        let lookups = plan.groups.iter().map(|(entity, names, _)| {
            let with_id: Vec<(usize, String)> = rows
                .iter()
                .enumerate()
                .filter_map(|(i, row)| Some((i, row.id(*entity)?)))
                .collect();
            self.lookup(*entity, names, with_id, as_of_ms)
        });
        let answers = futures::future::try_join_all(lookups).await?;

        let mut values = vec![vec![None; plan.width]; rows.len()];
        for ((_, _, indexes), answer) in plan.groups.iter().zip(answers) {
            for (row, entity_values) in answer {
                for (value, &column) in entity_values.into_iter().zip(indexes) {
                    values[row][column] = value;
                }
            }
        }
        Ok(values)
    }

    /// One lookup of `names` for the entities `ids` (row index, entity id); per row, the values.
    async fn lookup(
        &self,
        entity: Entity,
        names: &[String],
        ids: Vec<(usize, String)>,
        as_of_ms: Option<i64>,
    ) -> Result<Vec<(usize, Vec<Option<f64>>)>, FeatureError> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut request = tonic::Request::new(pb::GetOnlineFeaturesRequest {
            entity_type: entity.as_str().into(),
            entity_ids: ids.iter().map(|(_, id)| id.clone()).collect(),
            features: names.to_vec(),
            feature_service: String::new(),
            request_time_unix_ms: as_of_ms,
        });
        request.set_timeout(self.timeout);
        let answer = self
            .client
            .clone()
            .get_online_features(request)
            .await
            .map_err(status_error)?
            .into_inner();
        if answer.entities.len() != ids.len() {
            return Err(FeatureError::Refused(format!(
                "{} entities answered for {} asked",
                answer.entities.len(),
                ids.len()
            )));
        }
        Ok(ids
            .into_iter()
            .zip(answer.entities)
            .map(|((row, _), found)| (row, found.values.iter().map(present).collect()))
            .collect())
    }
}

fn present(value: &pb::FeatureValue) -> Option<f64> {
    (value.status == Status::Present as i32)
        .then_some(value.value)
        .flatten()
}

fn status_error(status: tonic::Status) -> FeatureError {
    match status.code() {
        tonic::Code::InvalidArgument | tonic::Code::NotFound => {
            FeatureError::Refused(status.message().to_owned())
        }
        _ => FeatureError::Unavailable(format!("{}: {}", status.code(), status.message())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn views() -> HashMap<String, Entity> {
        [
            ("session_activity", Entity::Session),
            ("user_behaviour", Entity::User),
            ("track_popularity", Entity::Track),
        ]
        .into_iter()
        .map(|(v, e)| (v.to_owned(), e))
        .collect()
    }

    #[test]
    fn groups_features_by_the_entity_of_their_view() {
        let features: Vec<String> = [
            "session_activity:plays",
            "user_behaviour:skip_rate_24h",
            "session_activity:skips",
            "track_popularity:plays_1h",
        ]
        .map(String::from)
        .into();
        let plan = FeaturePlan::new(&features, &views()).expect("plans");
        let groups: Vec<_> = plan
            .groups
            .iter()
            .map(|(e, _, idx)| (*e, idx.clone()))
            .collect();
        assert_eq!(
            groups,
            [
                (Entity::Session, vec![0, 2]),
                (Entity::User, vec![1]),
                (Entity::Track, vec![3])
            ]
        );
        assert!(plan.needs(Entity::Track));
    }

    #[test]
    fn refuses_a_feature_of_an_unknown_view() {
        let error = FeaturePlan::new(&["mood:x".to_owned()], &views()).expect_err("unknown");
        assert!(error.to_string().contains("mood:x"), "{error}");
    }

    #[test]
    fn only_present_values_reach_the_model() {
        let value = |status: Status| pb::FeatureValue {
            value: Some(0.5),
            status: status as i32,
            event_time_unix_ms: Some(1),
        };
        assert_eq!(present(&value(Status::Present)), Some(0.5));
        assert_eq!(present(&value(Status::Stale)), None);
        assert_eq!(present(&value(Status::NotFound)), None);
    }
}
