//! The path of a batch: validate, pseudonymise, deduplicate, produce, confirm, dead-letter.
//!
//! The client hears `accepted` only after the broker's delivery report, and the event id is
//! marked done only then, so a retry after any failure produces the event once.

use std::{collections::HashMap, sync::Arc, time::Instant};

use chrono::Utc;
use futures::future::join_all;
use lucid_avro::Encoder;
use lucid_events::{
    EventInput, EventOutcome, ListeningEvent, Reason, RejectedEvent, Rejection, RejectionSource,
    Status,
};
use lucid_kafka::{ProduceError, Producer};

use crate::{
    dedupe::{Claim, Dedupe, StoreError},
    metrics as m,
    privacy::{Pseudonymizer, sha256_hex},
};

/// One element of a request, parsed or not.
pub struct Item {
    /// The event, or why it could not be read.
    pub parsed: Result<EventInput, Rejection>,
    /// The element as JSON, kept for the dead-letter record.
    pub raw: serde_json::Value,
}

/// What the pipeline needs; shared by the HTTP and gRPC front ends.
pub struct Ingestor {
    pub(crate) pseudonyms: Pseudonymizer,
    pub(crate) limits: lucid_events::Limits,
    pub(crate) dedupe: Dedupe,
    pub(crate) producer: Producer,
    pub(crate) events: Encoder,
    pub(crate) dead_letters: Encoder,
    pub(crate) events_topic: String,
    pub(crate) dlq_topic: String,
    pub(crate) queue_max: u32,
}

/// The whole request failed and nothing of it was produced.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    /// The idempotency store is down, so duplicates cannot be told apart. Retry later.
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// An event on its way: where it is in the request and what happened to it so far.
enum Step {
    Done(EventOutcome),
    /// A repeat of the event at `first` in the same request.
    CopyOf(usize),
    Produce(ListeningEvent),
}

impl Ingestor {
    /// Runs a batch and returns one outcome per item, in order.
    pub async fn publish(
        self: &Arc<Self>,
        items: Vec<Item>,
        source: RejectionSource,
    ) -> Result<Vec<EventOutcome>, IngestError> {
        let now = Utc::now();
        let mut steps = Vec::with_capacity(items.len());
        let mut first_seen: HashMap<String, usize> = HashMap::new();

        for (index, item) in items.iter().enumerate() {
            let step = match validated(item, &self.limits, now) {
                Err(rejection) => Step::Done(EventOutcome::rejected(
                    index as u32,
                    event_id(item),
                    &rejection,
                )),
                Ok(event) => match first_seen.get(&event.event_id) {
                    Some(first) => Step::CopyOf(*first),
                    None => {
                        first_seen.insert(event.event_id.clone(), index);
                        let pseudonym = self.pseudonyms.pseudonym(&event.user_id);
                        Step::Produce(ListeningEvent::from_input(event, pseudonym, now))
                    }
                },
            };
            steps.push(step);
        }

        self.claim_and_produce(&mut steps).await?;
        let outcomes = resolve_copies(steps);
        self.dead_letter(&items, &outcomes, source).await;
        record_metrics(&outcomes);
        Ok(outcomes)
    }

    /// Claims the new ids, produces them and settles the claims.
    async fn claim_and_produce(&self, steps: &mut [Step]) -> Result<(), IngestError> {
        let wanted: Vec<usize> = (0..steps.len())
            .filter(|i| matches!(steps[*i], Step::Produce(_)))
            .collect();
        let ids: Vec<&str> = wanted.iter().map(|i| produce_id(&steps[*i])).collect();
        let claims = self.dedupe.claim(&ids).await?;

        let mut owned = Vec::new();
        for (index, claim) in wanted.into_iter().zip(claims) {
            let id = Some(produce_id(&steps[index]).to_owned());
            match claim {
                Claim::New => owned.push(index),
                Claim::Done => {
                    steps[index] = Step::Done(EventOutcome::ok(index as u32, id, Status::Duplicate))
                }
                Claim::Pending => steps[index] = Step::Done(refused(index, id, Reason::InFlight)),
            }
        }

        let events: Vec<&ListeningEvent> =
            owned.iter().filter_map(|i| as_event(&steps[*i])).collect();
        let results = self.produce(&events).await;
        let (mut done, mut failed) = (Vec::new(), Vec::new());
        for (index, result) in owned.iter().zip(&results) {
            let id = produce_id(&steps[*index]).to_owned();
            if result.is_ok() {
                done.push(id)
            } else {
                failed.push(id)
            }
        }

        let done_refs: Vec<&str> = done.iter().map(String::as_str).collect();
        let failed_refs: Vec<&str> = failed.iter().map(String::as_str).collect();
        if let Err(error) = self.dedupe.settle(&done_refs, &failed_refs).await {
            // The events are in Kafka; only duplicate detection for them is weakened, and pending
            // claims expire by themselves.
            tracing::warn!(%error, "failed to settle idempotency claims");
        }

        for (index, result) in owned.into_iter().zip(results) {
            let id = Some(produce_id(&steps[index]).to_owned());
            steps[index] = Step::Done(match result {
                Ok(()) => EventOutcome::ok(index as u32, id, Status::Accepted),
                Err(_) => refused(index, id, Reason::Unavailable),
            });
        }
        Ok(())
    }

    /// Produces the events and waits for every delivery report.
    async fn produce(&self, events: &[&ListeningEvent]) -> Vec<Result<(), ProduceError>> {
        let room = i64::from(self.queue_max) - i64::from(self.producer.in_flight());
        if events.len() as i64 > room {
            return events
                .iter()
                .map(|_| Err(ProduceError::QueueFull))
                .collect();
        }

        let started = Instant::now();
        let results = join_all(events.iter().map(|event| self.send_event(event))).await;

        metrics::histogram!(m::PRODUCE_DURATION).record(started.elapsed().as_secs_f64());
        metrics::gauge!(m::PRODUCER_QUEUE_DEPTH).set(f64::from(self.producer.in_flight()));
        results
    }

    async fn send_event(&self, event: &ListeningEvent) -> Result<(), ProduceError> {
        let bytes = self
            .events
            .encode(event.to_avro())
            .map_err(|e| ProduceError::Delivery {
                detail: e.to_string(),
                retryable: false,
            })?;
        let delivery = self.producer.send(
            &self.events_topic,
            Some(event.user_pseudonym.as_bytes()),
            &bytes,
        )?;
        delivery.await.map(|_| ()).inspect_err(|error| {
            tracing::warn!(%error, topic = %self.events_topic, "event not confirmed by the broker");
        })
    }

    /// Writes every refused input that belongs there to the dead-letter topic.
    async fn dead_letter(
        &self,
        items: &[Item],
        outcomes: &[EventOutcome],
        source: RejectionSource,
    ) {
        let now = Utc::now().timestamp_millis();
        let mut sends = Vec::new();

        for (item, outcome) in items.iter().zip(outcomes) {
            let Some(reason) = outcome.reason.as_deref() else {
                continue;
            };
            if outcome.retryable {
                continue;
            }
            let record = RejectedEvent {
                reason: reason.to_owned(),
                detail: outcome.message.clone().unwrap_or_default(),
                source,
                event_id: outcome.event_id.clone(),
                payload: self.pseudonyms.scrub(&item.raw),
                payload_sha256: sha256_hex(item.raw.to_string().as_bytes()),
                rejected_time: now,
                retryable: false,
            };
            sends.push(self.send_dead_letter(record));
        }
        join_all(sends).await;
    }

    /// Writes one record to the dead-letter topic; failures are counted and logged, not raised,
    /// because the client has its answer either way.
    pub(crate) async fn send_dead_letter(&self, record: RejectedEvent) {
        let sent = async {
            let bytes = self
                .dead_letters
                .encode(record.to_avro())
                .map_err(|e| e.to_string())?;
            let delivery = self
                .producer
                .send(&self.dlq_topic, None, &bytes)
                .map_err(|e| e.to_string())?;
            delivery.await.map_err(|e| e.to_string())
        };
        match sent.await {
            Ok(_) => metrics::counter!(m::DEAD_LETTERED).increment(1),
            Err(error) => {
                metrics::counter!(m::DEAD_LETTER_FAILURES).increment(1);
                tracing::error!(%error, reason = %record.reason, "failed to write a refused event to the dead-letter topic");
            }
        }
    }
}

fn validated<'a>(
    item: &'a Item,
    limits: &lucid_events::Limits,
    now: chrono::DateTime<Utc>,
) -> Result<&'a EventInput, Rejection> {
    let event = item.parsed.as_ref().map_err(Clone::clone)?;
    lucid_events::validate(event, limits, now)?;
    Ok(event)
}

fn event_id(item: &Item) -> Option<String> {
    match &item.parsed {
        Ok(event) => Some(event.event_id.clone()),
        Err(_) => item
            .raw
            .get("event_id")
            .and_then(|v| v.as_str())
            .map(str::to_owned),
    }
}

fn as_event(step: &Step) -> Option<&ListeningEvent> {
    match step {
        Step::Produce(event) => Some(event),
        _ => None,
    }
}

fn produce_id(step: &Step) -> &str {
    as_event(step).map_or("", |event| event.event_id.as_str())
}

fn refused(index: usize, event_id: Option<String>, reason: Reason) -> EventOutcome {
    let message = match reason {
        Reason::InFlight => "another request with this event id is being processed; retry later",
        _ => "the broker did not confirm the event in time; retry later",
    };
    EventOutcome::rejected(index as u32, event_id, &Rejection::event(reason, message))
}

/// A repeat within one request gets what its first copy got, with accepted turned to duplicate.
fn resolve_copies(steps: Vec<Step>) -> Vec<EventOutcome> {
    let mut outcomes: Vec<Option<EventOutcome>> = Vec::with_capacity(steps.len());
    let mut copies = Vec::new();
    for (index, step) in steps.into_iter().enumerate() {
        match step {
            Step::Done(outcome) => outcomes.push(Some(outcome)),
            Step::CopyOf(first) => {
                copies.push((index, first));
                outcomes.push(None);
            }
            Step::Produce(_) => outcomes.push(None),
        }
    }

    for (index, first) in copies {
        let mut copy = outcomes[first]
            .clone()
            .expect("a first copy always has an outcome");
        copy.index = index as u32;
        if copy.status == Status::Accepted {
            copy.status = Status::Duplicate;
        }
        outcomes[index] = Some(copy);
    }
    outcomes
        .into_iter()
        .map(|o| o.expect("every event has an outcome"))
        .collect()
}

fn record_metrics(outcomes: &[EventOutcome]) {
    for outcome in outcomes {
        match outcome.status {
            Status::Accepted => metrics::counter!(m::ACCEPTED).increment(1),
            Status::Duplicate => metrics::counter!(m::DUPLICATES).increment(1),
            Status::Rejected => {
                let reason = outcome.reason.clone().unwrap_or_default();
                metrics::counter!(m::REJECTED, "reason" => reason).increment(1);
            }
        }
    }
}
