//! `lucidctl simulate --predict`: ask the model gateway for a prediction at every track played,
//! as the app does before it starts a track, so the deployment manager can judge each version on
//! what the listener then did.
//!
//! Each request names the listener by the pseudonym ingestion gives them (HMAC-SHA256 with the
//! same key), the session and the track, and carries the play's event time as `request_time`:
//! a replayed or simulated play is predicted as of its own time, so the prediction joins with
//! the skip or completion that follows it on the same clock.

use std::collections::BTreeMap;
use std::fmt;

use anyhow::Context as _;
use futures::StreamExt as _;
use lucid_config::Secret;
use lucid_events::{Action, EventInput};
use lucid_ingestion::Pseudonymizer;
use serde_json::{Value, json};

/// Requests in flight at once.
const CONCURRENCY: usize = 8;

/// Asks one model of one gateway.
pub struct Predictor {
    client: reqwest::Client,
    endpoint: String,
    pseudonyms: Pseudonymizer,
}

/// What the gateway answered over a run.
#[derive(Debug, Default)]
pub struct Predictions {
    /// Predictions per answering version.
    pub by_version: BTreeMap<String, u64>,
    /// Refused or failed requests, per reason (first line of the answer).
    pub failed: BTreeMap<String, u64>,
}

impl Predictor {
    /// A predictor for `model` at the gateway's HTTP base `url`.
    pub fn new(url: &str, model: &str, pseudonym_key: &str) -> anyhow::Result<Self> {
        let client = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .context("failed to build the HTTP client")?;
        Ok(Predictor {
            client,
            endpoint: format!("{}/v2/models/{model}/infer", url.trim_end_matches('/')),
            pseudonyms: Pseudonymizer::new(&Secret::new(pseudonym_key)),
        })
    }

    /// Predicts every play among `events`, a few at a time.
    pub async fn predict_plays(&self, events: &[EventInput], into: &mut Predictions) {
        let plays = events
            .iter()
            .filter(|e| e.action == Action::Play && e.track_id.is_some());
        let mut answers = futures::stream::iter(plays)
            .map(|play| self.predict(play))
            .buffer_unordered(CONCURRENCY);
        while let Some(answer) = answers.next().await {
            match answer {
                Ok(version) => *into.by_version.entry(version).or_default() += 1,
                Err(reason) => *into.failed.entry(reason).or_default() += 1,
            }
        }
    }

    /// The request for one play.
    fn request(&self, play: &EventInput) -> Value {
        json!({
            "id": format!("sim-{}", play.event_id),
            "parameters": {"request_time": play.event_time.timestamp_millis()},
            "inputs": [
                {"name": "user_id", "datatype": "BYTES", "shape": [1],
                 "data": [self.pseudonyms.pseudonym(&play.user_id)]},
                {"name": "session_id", "datatype": "BYTES", "shape": [1],
                 "data": [play.session_id]},
                {"name": "track_id", "datatype": "INT64", "shape": [1], "data": [play.track_id]},
            ],
        })
    }

    /// The version that answered, or why there is no answer.
    async fn predict(&self, play: &EventInput) -> Result<String, String> {
        let answer = self
            .client
            .post(&self.endpoint)
            .json(&self.request(play))
            .send()
            .await
            .map_err(|e| format!("gateway unreachable at {}: {e}", self.endpoint))?;
        let status = answer.status();
        let body: Value = answer
            .json()
            .await
            .map_err(|e| format!("HTTP {status} with an unreadable body: {e}"))?;
        if !status.is_success() {
            let error = body["error"].as_str().unwrap_or("no error message");
            return Err(format!("HTTP {status}: {error}"));
        }
        body["model_version"]
            .as_str()
            .map(str::to_owned)
            .ok_or_else(|| "an answer without model_version".to_owned())
    }
}

impl Predictions {
    /// Requests that got no prediction.
    pub fn failed_total(&self) -> u64 {
        self.failed.values().sum()
    }
}

impl fmt::Display for Predictions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let answered: u64 = self.by_version.values().sum();
        write!(f, "predicted:   {answered} plays")?;
        let versions: Vec<String> = self
            .by_version
            .iter()
            .map(|(version, count)| format!("version {version}: {count}"))
            .collect();
        if !versions.is_empty() {
            write!(f, " ({})", versions.join(", "))?;
        }
        for (reason, count) in &self.failed {
            write!(f, "\n  failed {count}: {reason}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_play_is_asked_for_by_pseudonym_session_track_and_its_own_time() {
        let play: EventInput = serde_json::from_str(
            r#"{"event_id":"e-7","user_id":"user-000001","session_id":"s-1",
                "event_time":"2026-12-01T10:00:00Z","action":"play","track_id":42,
                "context":"playlist","platform":"ios","app_version":"4.12.0"}"#,
        )
        .expect("event json");
        let predictor =
            Predictor::new("http://127.0.0.1:1/", "skip-model", "Jefe").expect("predictor");
        assert_eq!(
            predictor.endpoint,
            "http://127.0.0.1:1/v2/models/skip-model/infer"
        );
        let request = predictor.request(&play);
        // HMAC-SHA256("Jefe", "user-000001"), computed with Python's hmac module.
        let pseudonym = "dbe0236c4067f7c130465b9831cdb95d0788f78281ecf51dd216f64f8bf5bc88";
        assert_eq!(request["inputs"][0]["data"][0], pseudonym);
        assert_eq!(request["id"], "sim-e-7");
        // 2026-12-01T10:00:00Z, by Python's datetime.
        assert_eq!(request["parameters"]["request_time"], 1_796_119_200_000_i64);
        assert_eq!(request["inputs"][1]["data"][0], "s-1");
        assert_eq!(request["inputs"][2]["data"][0], 42);
    }
}
