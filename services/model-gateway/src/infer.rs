//! One inference, whatever the protocol: route, fetch or take the features, score, answer, log,
//! and score the shadow version after answering.

use std::{sync::Arc, time::Instant};

use lucid_routes::RouteTable;

use crate::{
    error::GatewayError,
    features::FeatureStore,
    metrics as m,
    models::{LoadedModel, Models},
    predictions::{Prediction, PredictionLog, SHADOW},
    routes::Tables,
    tensors::Input,
};

/// A parsed request.
#[derive(Debug, Clone)]
pub struct Request {
    /// The model asked for.
    pub model: String,
    /// The request id (the caller's, or a new UUID).
    pub request_id: String,
    /// The rows.
    pub input: Input,
    /// The time the request is made as of (the `request_time` parameter), epoch milliseconds:
    /// features are read as of it and the prediction is logged with it. For replays of past
    /// traffic; `None` is now.
    pub as_of_ms: Option<i64>,
}

/// The answer to a request.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The version that scored.
    pub version: String,
    /// Its route symbol.
    pub route: &'static str,
    /// One score per row.
    pub scores: Vec<f32>,
}

/// A model's description for the metadata endpoints.
#[derive(Debug, Clone)]
pub struct Metadata {
    /// Registered model name.
    pub name: String,
    /// The versions its route table names, routes first, then the shadow.
    pub versions: Vec<String>,
    /// Its features (of the stable version), the inputs of the raw-feature form.
    pub features: Vec<String>,
}

/// Everything a request needs, shared by both servers.
#[derive(Clone)]
pub struct Gateway {
    pub(crate) served: Arc<[String]>,
    pub(crate) models: Models,
    pub(crate) tables: Tables,
    pub(crate) features: FeatureStore,
    pub(crate) log: PredictionLog,
    pub(crate) max_rows: usize,
}

impl Gateway {
    /// Whether `model` is served here.
    pub fn serves(&self, model: &str) -> bool {
        self.served.iter().any(|m| m == model)
    }

    /// Rows allowed per request.
    pub fn max_rows(&self) -> usize {
        self.max_rows
    }

    /// The stable side of `model`'s table in service: its first route with weight, loaded.
    pub fn stable(&self, model: &str) -> Result<Arc<LoadedModel>, GatewayError> {
        if !self.serves(model) {
            return Err(GatewayError::UnknownModel(model.to_owned()));
        }
        let current = self.tables.get(model).ok_or_else(|| not_ready(model))?;
        let route = current.table.routes.iter().find(|r| r.weight > 0);
        route
            .and_then(|r| self.models.loaded(model, &r.version))
            .ok_or_else(|| not_ready(model))
    }

    /// What `model` takes and which versions it routes to (the stable version's features).
    pub fn metadata(&self, model: &str) -> Result<Metadata, GatewayError> {
        let stable = self.stable(model)?;
        let current = self.tables.get(model).ok_or_else(|| not_ready(model))?;
        Ok(Metadata {
            name: model.to_owned(),
            versions: current.table.versions().map(str::to_owned).collect(),
            features: stable.classifier.features().to_vec(),
        })
    }

    /// Whether every served model has a table in service.
    pub fn ready(&self) -> bool {
        self.served.iter().all(|m| self.stable(m).is_ok())
    }

    /// Answers `request`; `protocol` labels the metrics.
    pub async fn infer(
        &self,
        request: Request,
        protocol: &'static str,
    ) -> Result<Answer, GatewayError> {
        let started = Instant::now();
        let model = request.model.clone();
        let mut version = String::new();
        let result = self.route_and_score(request, started, &mut version).await;
        match &result {
            Ok(answer) => {
                let (version, route) = (answer.version.clone(), answer.route);
                metrics::histogram!(
                    m::REQUEST_DURATION,
                    "model" => model.clone(),
                    "version" => version.clone(),
                    "route" => route
                )
                .record(started.elapsed().as_secs_f64());
                metrics::counter!(
                    m::REQUESTS,
                    "model" => model,
                    "version" => version,
                    "route" => route,
                    "protocol" => protocol
                )
                .increment(1);
            }
            Err(error) => self.count_error(model, version, error),
        }
        result
    }

    /// Counts a request refused before it reached [`Gateway::infer`] (it did not parse).
    pub fn count_refused(&self, model: &str, error: &GatewayError) {
        self.count_error(model.to_owned(), String::new(), error);
    }

    fn count_error(&self, model: String, version: String, error: &GatewayError) {
        // A name the caller made up is not a label value: labels stay bounded.
        let model = if self.serves(&model) {
            model
        } else {
            "other".into()
        };
        metrics::counter!(
            m::ERRORS,
            "model" => model,
            "version" => version,
            "reason" => error.reason()
        )
        .increment(1);
    }

    async fn route_and_score(
        &self,
        request: Request,
        started: Instant,
        version: &mut String,
    ) -> Result<Answer, GatewayError> {
        if !self.serves(&request.model) {
            return Err(GatewayError::UnknownModel(request.model));
        }
        let current = self
            .tables
            .get(&request.model)
            .ok_or_else(|| not_ready(&request.model))?;
        // Without a listener the request id spreads requests by the weights, not sticky.
        let routing_key = request.input.user().unwrap_or(&request.request_id);
        let route = current.table.assign(&request.model, routing_key);
        version.clone_from(&route.version);
        let loaded = self.models.get(&request.model, &route.version).await?;

        let values = self.values(&loaded, &request).await?;
        let scores = score(&loaded, &values)?;
        let latency_us = started.elapsed().as_micros() as i64;
        let symbol = route.route.as_str();
        self.log_rows(&request, &loaded, symbol, &values, &scores, latency_us);
        metrics::counter!(m::ROWS, "model" => request.model.clone(), "version" => route.version.clone(), "route" => symbol)
            .increment(scores.len() as u64);

        if current.table.shadow.is_some() {
            self.spawn_shadow(request, current.table.clone(), loaded, values, started);
        }
        Ok(Answer {
            version: route.version.clone(),
            route: symbol,
            scores,
        })
    }

    /// The values each row gives the model, in its feature order.
    async fn values(
        &self,
        loaded: &LoadedModel,
        request: &Request,
    ) -> Result<Vec<Vec<Option<f64>>>, GatewayError> {
        match &request.input {
            Input::Entities(rows) => {
                let fetching = Instant::now();
                let values = self
                    .features
                    .fetch(&loaded.plan, rows, request.as_of_ms)
                    .await?;
                metrics::histogram!(m::FEATURE_DURATION).record(fetching.elapsed().as_secs_f64());
                Ok(values)
            }
            Input::Features { rows, columns, .. } => {
                Input::feature_rows(*rows, columns, loaded.classifier.features())
            }
        }
    }

    fn log_rows(
        &self,
        request: &Request,
        loaded: &LoadedModel,
        route: &'static str,
        values: &[Vec<Option<f64>>],
        scores: &[f32],
        latency_us: i64,
    ) {
        let predicted_ms = request
            .as_of_ms
            .unwrap_or_else(|| chrono::Utc::now().timestamp_millis());
        let names = loaded.classifier.features();
        for (row, (row_values, score)) in values.iter().zip(scores).enumerate() {
            let (user, session, track) = match &request.input {
                Input::Entities(rows) => (
                    Some(rows[row].user.clone()),
                    Some(rows[row].session.clone()),
                    rows[row].track,
                ),
                Input::Features { user, .. } => (user.clone(), None, None),
            };
            self.log.log(&Prediction {
                request_id: request.request_id.clone(),
                model: loaded.name.clone(),
                version: loaded.version.clone(),
                route,
                user,
                session,
                track,
                features: names
                    .iter()
                    .cloned()
                    .zip(row_values.iter().copied())
                    .collect(),
                score: f64::from(*score),
                predicted_ms,
                latency_us,
            });
        }
    }

    /// Scores the table's shadow version after the answer is on its way, and only logs it.
    fn spawn_shadow(
        &self,
        request: Request,
        table: RouteTable,
        served: Arc<LoadedModel>,
        served_values: Vec<Vec<Option<f64>>>,
        started: Instant,
    ) {
        let gateway = self.clone();
        tokio::spawn(async move {
            let Some(shadow) = table.shadow else { return };
            let result = async {
                let loaded = gateway.models.get(&request.model, &shadow.version).await?;
                let values = if loaded.classifier.features() == served.classifier.features() {
                    served_values
                } else {
                    gateway.values(&loaded, &request).await?
                };
                let scores = score(&loaded, &values)?;
                let latency_us = started.elapsed().as_micros() as i64;
                gateway.log_rows(&request, &loaded, SHADOW, &values, &scores, latency_us);
                metrics::counter!(m::ROWS, "model" => request.model.clone(), "version" => shadow.version.clone(), "route" => SHADOW)
                    .increment(scores.len() as u64);
                Ok::<_, GatewayError>(())
            };
            if let Err(error) = result.await {
                metrics::counter!(
                    m::ERRORS,
                    "model" => request.model.clone(),
                    "version" => shadow.version.clone(),
                    "reason" => error.reason()
                )
                .increment(1);
                tracing::warn!(model = request.model, version = shadow.version, %error, "shadow scoring failed");
            }
        });
    }
}

fn score(loaded: &LoadedModel, values: &[Vec<Option<f64>>]) -> Result<Vec<f32>, GatewayError> {
    let rows: Vec<Vec<f32>> = values
        .iter()
        .map(|row| {
            row.iter()
                .map(|v| v.map_or(f32::NAN, |v| v as f32))
                .collect()
        })
        .collect();
    Ok(loaded.classifier.score_rows(&rows)?)
}

fn not_ready(model: &str) -> GatewayError {
    GatewayError::Unavailable(format!(
        "model {model:?} has no version in service yet (no route table and no loadable champion)"
    ))
}
