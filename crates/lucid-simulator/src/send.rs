//! Posting events to ingestion's `POST /v1/events`, as a phone would.
//!
//! Contract with ingestion: HTTP 200 carries one outcome per event; HTTP 503 (with
//! `Retry-After` in seconds) carries the same body when some events were refused as retryable
//! (`unavailable`, `in_flight`). Only those are sent again, after the advised delay or an
//! exponential backoff; accepted, duplicate and rejected events are never resent. Transient
//! failures without outcomes (connection errors, 429, 500, 502, 504, a 503 without the body)
//! resend the whole batch: ingestion deduplicates by event id, so an event that was in fact
//! accepted comes back as a duplicate. Other 4xx answers refuse the request itself and stop
//! the run.

use std::time::Duration;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use lucid_events::{ErrorResponse, EventInput, PublishResponse, Status};
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::SendSummary;

mod options;
mod pacer;

pub use options::{SendError, SendOptions};
use pacer::Pacer;

/// Longest backoff between attempts without `Retry-After`.
const MAX_BACKOFF: Duration = Duration::from_secs(30);
/// Longest `Retry-After` honoured.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Posts `events` in batches and reports what happened to them.
pub async fn send_http(
    events: &[EventInput],
    options: &SendOptions,
) -> Result<SendSummary, SendError> {
    options.check()?;
    let client = reqwest::Client::builder()
        .timeout(options.timeout)
        .build()
        .map_err(SendError::Client)?;
    let sender = Sender {
        client,
        endpoint: format!("{}/v1/events", options.url.trim_end_matches('/')),
        options,
        pacer: options.rate.map(Pacer::new),
        bar: progress_bar(events.len() as u64, options.progress),
    };

    let started = Instant::now();
    let mut summary = SendSummary {
        sent: events.len() as u64,
        ..SendSummary::default()
    };
    let mut batches = futures::stream::iter(events.chunks(options.batch_size))
        .map(|batch| sender.send(batch))
        .buffer_unordered(options.concurrency);
    while let Some(batch) = batches.next().await {
        summary.merge(batch?);
    }
    summary.elapsed = started.elapsed();
    sender.bar.finish_and_clear();

    if summary.unsent_total() > 0 {
        warn!(
            unsent = summary.unsent_total(),
            "gave up on events after the last attempt"
        );
    }
    Ok(summary)
}

/// Shared state of one run.
struct Sender<'a> {
    client: reqwest::Client,
    endpoint: String,
    options: &'a SendOptions,
    pacer: Option<Pacer>,
    bar: ProgressBar,
}

/// What one request achieved.
enum Reply {
    /// Per-event outcomes (HTTP 200, or 503 with a body).
    Outcomes {
        response: PublishResponse,
        retry_after: Option<Duration>,
    },
    /// No outcomes; every event of the request must be resent.
    Transient {
        reason: String,
        retry_after: Option<Duration>,
    },
}

impl Sender<'_> {
    /// Sends one batch until every event has a final outcome or the attempts run out.
    async fn send(&self, batch: &[EventInput]) -> Result<SendSummary, SendError> {
        let mut tally = SendSummary::default();
        let mut pending: Vec<(&EventInput, String)> =
            batch.iter().map(|event| (event, String::new())).collect();

        for attempt in 1..=self.options.max_attempts {
            if attempt > 1 {
                tally.retries += pending.len() as u64;
            }
            if let Some(pacer) = &self.pacer {
                pacer.wait(pending.len()).await;
            }
            tally.requests += 1;

            let events: Vec<&EventInput> = pending.iter().map(|(event, _)| *event).collect();
            let (retry, retry_after) = match self.post(&events).await? {
                Reply::Outcomes {
                    response,
                    retry_after,
                } => (self.settle(&pending, response, &mut tally)?, retry_after),
                Reply::Transient {
                    reason,
                    retry_after,
                } => (
                    pending
                        .iter()
                        .map(|(event, _)| (*event, reason.clone()))
                        .collect(),
                    retry_after,
                ),
            };
            pending = retry;
            if pending.is_empty() || attempt == self.options.max_attempts {
                break;
            }
            debug!(
                attempt,
                events = pending.len(),
                "resending retryable events"
            );
            tokio::time::sleep(
                retry_after.unwrap_or_else(|| backoff(self.options.backoff, attempt)),
            )
            .await;
        }

        for (_, reason) in &pending {
            *tally.unsent.entry(reason.clone()).or_default() += 1;
        }
        self.bar.inc(pending.len() as u64);
        Ok(tally)
    }

    /// Counts final outcomes and returns the events to send again with their reason.
    fn settle<'e>(
        &self,
        pending: &[(&'e EventInput, String)],
        response: PublishResponse,
        tally: &mut SendSummary,
    ) -> Result<Vec<(&'e EventInput, String)>, SendError> {
        if response.results.len() != pending.len() {
            return Err(protocol(
                200,
                format!(
                    "{} outcomes for {} events",
                    response.results.len(),
                    pending.len()
                ),
            ));
        }

        let mut retry = Vec::new();
        for outcome in response.results {
            let Some((event, _)) = pending.get(outcome.index as usize) else {
                return Err(protocol(
                    200,
                    format!("outcome index {} is out of range", outcome.index),
                ));
            };
            let reason = outcome.reason.unwrap_or_else(|| "unknown".to_owned());
            let retryable =
                outcome.retryable || matches!(reason.as_str(), "unavailable" | "in_flight");
            match outcome.status {
                Status::Accepted => tally.accepted += 1,
                Status::Duplicate => tally.duplicates += 1,
                Status::Rejected if retryable => {
                    retry.push((*event, reason));
                    continue;
                }
                Status::Rejected => *tally.rejected.entry(reason).or_default() += 1,
            }
            self.bar.inc(1);
        }
        Ok(retry)
    }

    async fn post(&self, events: &[&EventInput]) -> Result<Reply, SendError> {
        let transient = |reason: String, retry_after| {
            Ok(Reply::Transient {
                reason,
                retry_after,
            })
        };
        let request = self
            .client
            .post(&self.endpoint)
            .bearer_auth(&self.options.api_key)
            .json(events);
        let response = match request.send().await {
            Ok(response) => response,
            Err(error) => {
                debug!(%error, "request failed");
                return transient("transport".to_owned(), None);
            }
        };

        let status = response.status();
        let retry_after = retry_after(&response);
        let body = match response.bytes().await {
            Ok(body) => body,
            Err(error) => {
                debug!(%error, "failed to read the response body");
                return transient("transport".to_owned(), None);
            }
        };

        match status {
            StatusCode::OK | StatusCode::SERVICE_UNAVAILABLE => {
                match serde_json::from_slice::<PublishResponse>(&body) {
                    Ok(response) => Ok(Reply::Outcomes {
                        response,
                        retry_after,
                    }),
                    Err(_) if status == StatusCode::SERVICE_UNAVAILABLE => {
                        transient("http_503".to_owned(), retry_after)
                    }
                    Err(error) => Err(protocol(200, error.to_string())),
                }
            }
            StatusCode::TOO_MANY_REQUESTS
            | StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::GATEWAY_TIMEOUT => {
                transient(format!("http_{}", status.as_u16()), retry_after)
            }
            status if status.is_client_error() => Err(refused(status, &body)),
            status => Err(protocol(status.as_u16(), "unexpected status".to_owned())),
        }
    }
}

/// The wait before attempt `attempt + 1` without `Retry-After`: `first × 2^(attempt - 1)`, at
/// most 30 s.
fn backoff(first: Duration, attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
    first.saturating_mul(factor).min(MAX_BACKOFF)
}

/// `Retry-After` as whole seconds (the HTTP-date form is not used by ingestion).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds = response
        .headers()
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse()
        .ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

fn refused(status: StatusCode, body: &[u8]) -> SendError {
    let (code, message) = match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(response) => (response.error.code, response.error.message),
        Err(_) => (
            "unknown".to_owned(),
            String::from_utf8_lossy(body).chars().take(200).collect(),
        ),
    };
    SendError::Refused {
        status: status.as_u16(),
        code,
        message,
    }
}

fn protocol(status: u16, detail: String) -> SendError {
    SendError::Protocol { status, detail }
}

fn progress_bar(len: u64, enabled: bool) -> ProgressBar {
    if !enabled {
        return ProgressBar::hidden();
    }
    let style = ProgressStyle::with_template(
        "{elapsed_precise} [{bar:40}] {pos}/{len} events ({per_sec}, eta {eta})",
    )
    .map(|style| style.progress_chars("=> "))
    .unwrap_or_else(|_| ProgressStyle::default_bar());
    ProgressBar::new(len).with_style(style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_up_to_thirty_seconds() {
        let first = Duration::from_millis(500);
        let waits: Vec<u64> = (1..=8)
            .map(|n| backoff(first, n).as_millis() as u64)
            .collect();
        assert_eq!(
            waits,
            [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000]
        );
        assert_eq!(backoff(first, u32::MAX), MAX_BACKOFF);
    }
}
