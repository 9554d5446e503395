//! `lucid.features.v1.FeatureService`: online lookups, and errors mapped to gRPC codes in one
//! place.

use std::{sync::Arc, time::Instant};

use lucid_features::{EntityType, ReadError, Registry, Status, Window};
use lucid_proto::features::v1::{self as pb, feature_service_server::FeatureService};

use crate::{metrics as m, store::Store};

/// The lookup service.
pub struct Lookups {
    pub(crate) registry: Arc<Registry>,
    pub(crate) store: Store,
    pub(crate) max_entities: usize,
}

/// Why a lookup failed.
#[derive(Debug, thiserror::Error)]
enum LookupError {
    #[error("unknown entity type {0:?}; expected session, user or track")]
    UnknownEntity(String),
    #[error("{count} entity ids requested; at most {limit} are allowed")]
    TooManyEntities { count: usize, limit: usize },
    #[error("name features or a feature service")]
    NoFeatures,
    #[error("unknown feature service {0:?}")]
    UnknownService(String),
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("online store unavailable: {0}")]
    Unavailable(String),
}

impl From<LookupError> for tonic::Status {
    fn from(error: LookupError) -> Self {
        let code = match &error {
            LookupError::Unavailable(_) => tonic::Code::Unavailable,
            LookupError::Read(ReadError::Corrupt { .. }) => tonic::Code::Internal,
            LookupError::Read(ReadError::KeyCount { .. } | ReadError::FieldCount { .. }) => {
                tonic::Code::Internal
            }
            _ => tonic::Code::InvalidArgument,
        };
        tonic::Status::new(code, error.to_string())
    }
}

#[tonic::async_trait]
impl FeatureService for Lookups {
    async fn get_online_features(
        &self,
        request: tonic::Request<pb::GetOnlineFeaturesRequest>,
    ) -> Result<tonic::Response<pb::GetOnlineFeaturesResponse>, tonic::Status> {
        let started = Instant::now();
        let answer = self.lookup(request.into_inner()).await;
        metrics::histogram!(m::LOOKUP_DURATION, "method" => "get_online_features")
            .record(started.elapsed().as_secs_f64());
        Ok(tonic::Response::new(answer?))
    }

    async fn list_feature_views(
        &self,
        _request: tonic::Request<pb::ListFeatureViewsRequest>,
    ) -> Result<tonic::Response<pb::ListFeatureViewsResponse>, tonic::Status> {
        Ok(tonic::Response::new(describe(&self.registry)))
    }
}

impl Lookups {
    async fn lookup(
        &self,
        request: pb::GetOnlineFeaturesRequest,
    ) -> Result<pb::GetOnlineFeaturesResponse, LookupError> {
        let entity = EntityType::from_name(&request.entity_type)
            .ok_or_else(|| LookupError::UnknownEntity(request.entity_type.clone()))?;
        let count = request.entity_ids.len();
        if count > self.max_entities {
            return Err(LookupError::TooManyEntities {
                count,
                limit: self.max_entities,
            });
        }
        let features = self.features(entity, &request)?;
        let t = request
            .request_time_unix_ms
            .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());

        let plan =
            lucid_features::read_plan(&self.registry, entity, &request.entity_ids, &features, t)?;
        let fetched = self.store.fetch(&plan).await.map_err(|e| {
            metrics::counter!(m::REDIS_ERRORS, "operation" => "fetch").increment(1);
            LookupError::Unavailable(e.to_string())
        })?;
        let values = lucid_features::evaluate(&plan, &fetched)?;

        let entities = request
            .entity_ids
            .into_iter()
            .zip(values)
            .map(|(entity_id, values)| pb::EntityFeatures {
                entity_id,
                values: values.into_iter().map(value).collect(),
            })
            .collect();
        Ok(pb::GetOnlineFeaturesResponse { features, entities })
    }

    /// The requested names, or those of the feature service that belong to this entity type.
    fn features(
        &self,
        entity: EntityType,
        request: &pb::GetOnlineFeaturesRequest,
    ) -> Result<Vec<String>, LookupError> {
        if !request.features.is_empty() {
            return Ok(request.features.clone());
        }
        if request.feature_service.is_empty() {
            return Err(LookupError::NoFeatures);
        }
        let service = self
            .registry
            .service(&request.feature_service)
            .ok_or_else(|| LookupError::UnknownService(request.feature_service.clone()))?;
        Ok(service
            .features
            .iter()
            .filter(|name| {
                self.registry
                    .resolve(name)
                    .is_some_and(|(view, _)| view.entity == entity)
            })
            .cloned()
            .collect())
    }
}

fn value(v: lucid_features::FeatureValue) -> pb::FeatureValue {
    let status = match v.status {
        Status::Present => pb::feature_value::Status::Present,
        Status::NotFound => pb::feature_value::Status::NotFound,
        Status::Stale => pb::feature_value::Status::Stale,
    };
    pb::FeatureValue {
        value: v.value,
        status: status as i32,
        event_time_unix_ms: v.event_time,
    }
}

fn describe(registry: &Registry) -> pb::ListFeatureViewsResponse {
    let views = registry
        .views()
        .iter()
        .map(|view| pb::FeatureView {
            name: view.name.clone(),
            entity_type: view.entity.as_str().into(),
            source: view.source.clone(),
            max_age_ms: view.max_age_ms(),
            features: view
                .features
                .iter()
                .map(|f| pb::FeatureDef {
                    name: format!("{}:{}", view.name, f.name),
                    aggregation: f.aggregation.name().into(),
                    window_seconds: match f.window {
                        Window::Lifetime => 0,
                        Window::Sliding { secs } => secs as i64,
                    },
                    description: String::new(),
                })
                .collect(),
        })
        .collect();
    let services = registry
        .services()
        .iter()
        .map(|s| pb::FeatureServiceDef {
            name: s.name.clone(),
            features: s.features.clone(),
        })
        .collect();
    pb::ListFeatureViewsResponse { views, services }
}
