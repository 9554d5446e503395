//! What the caller chooses about sending, and why sending may stop.

use std::time::Duration;

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

    /// Checks the ranges; the message names the option at fault.
    pub(crate) fn check(&self) -> Result<(), SendError> {
        let invalid = |message: &str| Err(SendError::Options(message.to_owned()));
        if !(1..=Self::MAX_BATCH).contains(&self.batch_size) {
            return invalid("batch_size must lie between 1 and 500");
        }
        if self
            .rate
            .is_some_and(|rate| !(rate.is_finite() && rate > 0.0))
        {
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
