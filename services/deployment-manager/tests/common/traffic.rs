//! Listeners: infer requests to the gateway for plays of the simulated listening, each followed
//! by the listener's outcome on the outcomes topic.
//!
//! The truth is the champion's model: a row is skipped with the probability the good model
//! gives it, `label ~ Bernoulli(p)`, drawn from a seeded generator. The gateway answers with
//! the score of the version it routed to; for the deliberately inverted version that score is
//! `1 - p`, so the truth is recovered as `p = 1 - score` there. The outcome is stamped 1 ms
//! after the prediction (the request names its time), so the join is exact.

use std::collections::BTreeMap;

use lucid_avro::{Codec, Encoder, LISTENING_EVENT, SchemaSet};
use lucid_events::{Action, Context, ListeningEvent, Platform};
use lucid_kafka::Producer;
use lucid_tests::broker;
use rand::{Rng as _, SeedableRng as _, rngs::StdRng};
use serde_json::{Value, json};

use super::gateway::Gateway;

/// Plays per infer request (one listener per request, as the gateway requires).
const ROWS: usize = 8;

/// What one version served and what its listeners did, tallied by the test itself.
#[derive(Debug, Default, Clone, PartialEq)]
pub struct Tally {
    /// Rows scored.
    pub rows: u64,
    /// Sum of the log loss of its scores against the drawn labels.
    pub log_loss_sum: f64,
}

impl Tally {
    /// Mean log loss.
    pub fn log_loss(&self) -> f64 {
        self.log_loss_sum / self.rows.max(1) as f64
    }
}

/// Simulated listeners of one gateway.
pub struct Listeners {
    http: reqwest::Client,
    url: String,
    users: Vec<(String, Vec<(String, i64)>)>,
    turn: usize,
    rng: StdRng,
    producer: Producer,
    encoder: Encoder,
    topic: String,
    /// The version whose scores are `1 - p`.
    pub inverted: Option<String>,
    /// Per version, since the last [`Listeners::reset`].
    pub tally: BTreeMap<String, Tally>,
}

impl Listeners {
    /// Listeners playing `users`' plays, outcomes to `topic`.
    pub async fn new(
        brokers: &str,
        topic: &str,
        gateway: &Gateway,
        users: Vec<(String, Vec<(String, i64)>)>,
        seed: u64,
    ) -> Listeners {
        let codec = Codec::single_object(SchemaSet::shipped());
        let encoder = codec
            .encoder(LISTENING_EVENT, "tests")
            .await
            .expect("the listening event schema is shipped");
        let producer = Producer::new(&broker::kafka(brokers), "lucid-tests", Default::default())
            .expect("producer settings are valid");
        Listeners {
            http: reqwest::Client::new(),
            url: format!("{}/v2/models/{}/infer", gateway.http, gateway.model),
            users,
            turn: 0,
            rng: StdRng::seed_from_u64(seed),
            producer,
            encoder,
            topic: topic.to_owned(),
            inverted: None,
            tally: BTreeMap::new(),
        }
    }

    /// Forgets the tallies.
    pub fn reset(&mut self) {
        self.tally.clear();
    }

    /// One request for the next listener, then the outcome of each row.
    pub async fn round(&mut self) {
        let (user, plays) = &self.users[self.turn % self.users.len()];
        let start = (self.turn / self.users.len()) * ROWS;
        self.turn += 1;
        let rows: Vec<(String, i64)> = (0..ROWS.min(plays.len()))
            .map(|i| plays[(start + i) % plays.len()].clone())
            .collect();
        let at = chrono::Utc::now().timestamp_millis();
        let body = json!({
            "parameters": { "request_id": uuid::Uuid::now_v7().to_string(), "request_time": at },
            "inputs": [
                { "name": "user_id", "datatype": "BYTES", "shape": [rows.len()],
                  "data": vec![user; rows.len()] },
                { "name": "session_id", "datatype": "BYTES", "shape": [rows.len()],
                  "data": rows.iter().map(|(s, _)| s).collect::<Vec<_>>() },
                { "name": "track_id", "datatype": "INT64", "shape": [rows.len()],
                  "data": rows.iter().map(|(_, t)| t).collect::<Vec<_>>() },
            ],
        });
        let answer = self
            .http
            .post(&self.url)
            .json(&body)
            .send()
            .await
            .expect("the gateway answers");
        let status = answer.status();
        let answer: Value = answer.json().await.expect("a JSON answer");
        assert!(status.is_success(), "infer: {status} {answer}");
        let version = answer["model_version"]
            .as_str()
            .expect("a version")
            .to_owned();
        let scores: Vec<f64> = answer["outputs"][0]["data"]
            .as_array()
            .expect("scores")
            .iter()
            .map(|s| s.as_f64().expect("a number"))
            .collect();
        assert_eq!(scores.len(), rows.len(), "{answer}");

        let user = user.clone();
        let mut deliveries = Vec::with_capacity(rows.len());
        for ((session, track), score) in rows.into_iter().zip(scores) {
            let truth = if self.inverted.as_deref() == Some(version.as_str()) {
                1.0 - score
            } else {
                score
            };
            let skipped = self.rng.random_bool(truth.clamp(0.0, 1.0));
            let tally = self.tally.entry(version.clone()).or_default();
            tally.rows += 1;
            let p = score.clamp(1e-15, 1.0 - 1e-15);
            tally.log_loss_sum -= if skipped { p.ln() } else { (1.0 - p).ln() };
            let event = outcome(&user, session, track, at + 1, skipped);
            let bytes = self
                .encoder
                .encode(event.to_avro())
                .expect("a valid event encodes");
            deliveries.push(
                self.producer
                    .send(&self.topic, Some(user.as_bytes()), &bytes)
                    .expect("queued"),
            );
        }
        for delivery in futures::future::join_all(deliveries).await {
            delivery.expect("the broker confirms");
        }
    }
}

fn outcome(user: &str, session: String, track: i64, at: i64, skipped: bool) -> ListeningEvent {
    ListeningEvent {
        event_id: uuid::Uuid::now_v7().to_string(),
        user_pseudonym: user.to_owned(),
        session_id: session,
        event_time: at,
        ingest_time: at,
        action: if skipped {
            Action::Skip
        } else {
            Action::Complete
        },
        track_id: Some(track),
        position: None,
        listened_ms: None,
        track_duration_ms: None,
        context: Context::Other,
        platform: Platform::Other,
        app_version: "rollout-test".into(),
        mood_valence: None,
        mood_arousal: None,
    }
}
