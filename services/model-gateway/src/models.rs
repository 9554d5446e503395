//! Model versions loaded from the registry and kept in memory, each loaded once however many
//! requests ask for it at the same moment.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use lucid_model::OnnxClassifier;
use tokio::sync::OnceCell;

use crate::{
    error::GatewayError,
    features::{FeaturePlan, FeatureStore},
    metrics as m,
    registry::Registry,
};

/// One registered version, planned and ready to score.
#[derive(Debug)]
pub struct LoadedModel {
    /// Registered model name.
    pub name: String,
    /// Registered version.
    pub version: String,
    /// The scorer.
    pub classifier: OnnxClassifier,
    /// Where its features come from.
    pub plan: FeaturePlan,
}

type Slot = Arc<OnceCell<Arc<LoadedModel>>>;

/// The cache of loaded versions.
#[derive(Clone)]
pub struct Models {
    registry: Registry,
    features: FeatureStore,
    slots: Arc<Mutex<HashMap<(String, String), Slot>>>,
}

impl Models {
    /// An empty cache loading from `registry`, planning features against `features`.
    pub fn new(registry: Registry, features: FeatureStore) -> Self {
        Models {
            registry,
            features,
            slots: Arc::default(),
        }
    }

    /// `version` of `model`, loaded now unless it already is. A failed load is not cached: the
    /// next call tries again.
    pub async fn get(&self, model: &str, version: &str) -> Result<Arc<LoadedModel>, GatewayError> {
        let slot = {
            let mut slots = self
                .slots
                .lock()
                .expect("the model cache lock is never poisoned");
            slots
                .entry((model.to_owned(), version.to_owned()))
                .or_default()
                .clone()
        };
        slot.get_or_try_init(|| self.load(model, version))
            .await
            .cloned()
    }

    /// `version` of `model` if it is loaded, without loading it.
    pub fn loaded(&self, model: &str, version: &str) -> Option<Arc<LoadedModel>> {
        let slots = self
            .slots
            .lock()
            .expect("the model cache lock is never poisoned");
        slots
            .get(&(model.to_owned(), version.to_owned()))
            .and_then(|slot| slot.get().cloned())
    }

    async fn load(&self, model: &str, version: &str) -> Result<Arc<LoadedModel>, GatewayError> {
        let info = self.registry.version(model, version).await?;
        let bytes = self.registry.onnx(&info).await?;
        // Planning an ONNX graph takes milliseconds of CPU: off the async workers.
        let classifier = tokio::task::spawn_blocking(move || OnnxClassifier::from_bytes(&bytes))
            .await
            .map_err(|e| GatewayError::Internal(format!("model loading panicked: {e}")))?
            .map_err(|e| GatewayError::Internal(format!("version {version} of {model:?}: {e}")))?;
        let plan = self.features.plan(classifier.features()).await?;
        if let Some(named) = &classifier.metadata().model_name
            && named != model
        {
            tracing::warn!(model, version, named, "the onnx file names another model");
        }
        metrics::counter!(m::LOADS, "model" => model.to_owned(), "version" => version.to_owned())
            .increment(1);
        tracing::info!(
            model,
            version,
            features = classifier.features().len(),
            "model version loaded"
        );
        Ok(Arc::new(LoadedModel {
            name: model.to_owned(),
            version: version.to_owned(),
            classifier,
            plan,
        }))
    }
}
