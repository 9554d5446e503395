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

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use lucid_events::{ErrorResponse, EventInput, PublishResponse, Status};
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use tokio::time::Instant;
use tracing::{debug, warn};

use crate::SendSummary;

/// How to send.
#[derive(Debug, Clone, PartialEq)]
pub struct SendOptions {
    /// Base URL of ingestion, for example `http://127.0.0.1:8080`.
    pub url: String,
    /// API key, sent as `Authorization: Bearer <key>`.
    pub api_key: String,
    /// Events per request, 1-500.
    pub batch_size: usize,
    /// Events per second across all requests; `None` sends as fast as ingestion answers.
    pub rate: Option<f64>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Draw a progress bar on stderr.
    pub progress: bool,
    /// Attempts per event, the first one included.
    pub max_attempts: u32,
    /// First backoff when ingestion gives no `Retry-After`; doubles per attempt up to 30 s.
    pub backoff: Duration,
    /// Timeout of one request.
    pub timeout: Duration,
}

impl SendOptions {
    /// Most events ingestion takes in one request.
    pub const MAX_BATCH: usize = 500;

    /// Defaults: batches of 100, no rate limit, 4 requests in flight, no progress bar, 8
    /// attempts, 500 ms first backoff, 30 s request timeout.
    pub fn new(url: impl Into<String>, api_key: impl Into<String>) -> SendOptions {
        SendOptions {
            url: url.into(),
            api_key: api_key.into(),
            batch_size: 100,
            rate: None,
            concurrency: 4,
            progress: false,
            max_attempts: 8,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(30),
        }
    }

    fn check(&self) -> Result<(), SendError> {
        let invalid = |message: &str| Err(SendError::Options(message.to_owned()));
        if !(1..=Self::MAX_BATCH).contains(&self.batch_size) {
            return invalid("batch_size must lie between 1 and 500");
        }
        if self.rate.is_some_and(|rate| !(rate.is_finite() && rate > 0.0)) {
            return invalid("rate must be a positive number of events per second");
        }
        if self.concurrency == 0 || self.max_attempts == 0 {
            return invalid("concurrency and max_attempts must be at least 1");
        }
        if !(self.url.starts_with("http://") || self.url.starts_with("https://")) {
            return invalid("url must start with http:// or https://");
        }
        Ok(())
    }
}

/// Why sending stopped. Retrying the same run fails the same way: the options, the API key or
/// ingestion's contract must be fixed first. (Transient failures are retried inside the run.)
#[derive(Debug, thiserror::Error)]
pub enum SendError {
    /// An option is out of range.
    #[error("invalid send options: {0}")]
    Options(String),
    /// The HTTP client could not be built (TLS setup).
    #[error("failed to build the http client")]
    Client(#[source] reqwest::Error),
    /// Ingestion refused a request as a whole (400, 401, 413 or another 4xx).
    #[error("ingestion refused the request with http {status}: {code}: {message}")]
    Refused {
        /// HTTP status.
        status: u16,
        /// Error code from the body (`unauthenticated`, `body_too_large`, ...).
        code: String,
        /// Explanation from the body.
        message: String,
    },
    /// Ingestion answered something the contract does not allow.
    #[error("ingestion answered http {status} with an unexpected body: {detail}")]
    Protocol {
        /// HTTP status.
        status: u16,
        /// What was wrong with it.
        detail: String,
    },
}

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
    let client =
        reqwest::Client::builder().timeout(options.timeout).build().map_err(SendError::Client)?;
    let sender = Sender {
        client,
        endpoint: format!("{}/v1/events", options.url.trim_end_matches('/')),
        options,
        pacer: options.rate.map(Pacer::new),
        bar: progress_bar(events.len() as u64, options.progress),
    };

    let started = Instant::now();
    let mut summary = SendSummary { sent: events.len() as u64, ..SendSummary::default() };
    let mut batches = futures::stream::iter(events.chunks(options.batch_size))
        .map(|batch| sender.send(batch))
        .buffer_unordered(options.concurrency);
    while let Some(batch) = batches.next().await {
        summary.merge(batch?);
    }
    summary.elapsed = started.elapsed();
    sender.bar.finish_and_clear();

    if summary.unsent_total() > 0 {
        warn!(unsent = summary.unsent_total(), "gave up on events after the last attempt");
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
    Outcomes { response: PublishResponse, retry_after: Option<Duration> },
    /// No outcomes; every event of the request must be resent.
    Transient { reason: String, retry_after: Option<Duration> },
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
                Reply::Outcomes { response, retry_after } => {
                    (self.settle(&pending, response, &mut tally)?, retry_after)
                }
                Reply::Transient { reason, retry_after } => {
                    (pending.iter().map(|(event, _)| (*event, reason.clone())).collect(), retry_after)
                }
            };
            pending = retry;
            if pending.is_empty() || attempt == self.options.max_attempts {
                break;
            }
            debug!(attempt, events = pending.len(), "resending retryable events");
            tokio::time::sleep(retry_after.unwrap_or_else(|| self.backoff(attempt))).await;
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
            return Err(protocol(200, format!(
                "{} outcomes for {} events",
                response.results.len(),
                pending.len()
            )));
        }

        let mut retry = Vec::new();
        for outcome in response.results {
            let Some((event, _)) = pending.get(outcome.index as usize) else {
                return Err(protocol(200, format!("outcome index {} is out of range", outcome.index)));
            };
            let reason = outcome.reason.unwrap_or_else(|| "unknown".to_owned());
            let retryable = outcome.retryable || matches!(reason.as_str(), "unavailable" | "in_flight");
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
        let transient = |reason: String, retry_after| Ok(Reply::Transient { reason, retry_after });
        let request = self.client.post(&self.endpoint).bearer_auth(&self.options.api_key).json(events);
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
                    Ok(response) => Ok(Reply::Outcomes { response, retry_after }),
                    Err(_) if status == StatusCode::SERVICE_UNAVAILABLE => {
                        transient("http_503".to_owned(), retry_after)
                    }
                    Err(error) => Err(protocol(200, error.to_string())),
                }
            }
            StatusCode::TOO_MANY_REQUESTS
            | StatusCode::INTERNAL_SERVER_ERROR
            | StatusCode::BAD_GATEWAY
            | StatusCode::GATEWAY_TIMEOUT => transient(format!("http_{}", status.as_u16()), retry_after),
            status if status.is_client_error() => Err(refused(status, &body)),
            status => Err(protocol(status.as_u16(), "unexpected status".to_owned())),
        }
    }

    fn backoff(&self, attempt: u32) -> Duration {
        let factor = 2u32.saturating_pow(attempt.saturating_sub(1).min(16));
        self.options.backoff.saturating_mul(factor).min(MAX_BACKOFF)
    }
}

/// `Retry-After` as whole seconds (the HTTP-date form is not used by ingestion).
fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    let seconds = response.headers().get(RETRY_AFTER)?.to_str().ok()?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds).min(MAX_RETRY_AFTER))
}

fn refused(status: StatusCode, body: &[u8]) -> SendError {
    let (code, message) = match serde_json::from_slice::<ErrorResponse>(body) {
        Ok(response) => (response.error.code, response.error.message),
        Err(_) => ("unknown".to_owned(), String::from_utf8_lossy(body).chars().take(200).collect()),
    };
    SendError::Refused { status: status.as_u16(), code, message }
}

fn protocol(status: u16, detail: String) -> SendError {
    SendError::Protocol { status, detail }
}

/// Spaces requests so that events leave at the configured rate, across concurrent batches.
struct Pacer {
    per_event: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    fn new(rate: f64) -> Pacer {
        Pacer { per_event: Duration::from_secs_f64(1.0 / rate), next: Mutex::new(Instant::now()) }
    }

    /// Waits for the slot of a request carrying `events` events.
    async fn wait(&self, events: usize) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let slot = (*next).max(Instant::now());
            *next = slot + self.per_event.saturating_mul(events as u32);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
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
