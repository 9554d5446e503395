//! What sending achieved: counts per outcome, retries and throughput.

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// The result of [`crate::send_http`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendSummary {
    /// Distinct events handed to the sender.
    pub sent: u64,
    /// Events ingestion accepted.
    pub accepted: u64,
    /// Events ingestion had already seen (for example accepted by a request whose answer was
    /// lost in transit and then resent).
    pub duplicates: u64,
    /// Events refused for good, by reason code.
    pub rejected: BTreeMap<String, u64>,
    /// Events still retryable when the attempts ran out, by their last reason (a reason code,
    /// `http_<status>` or `transport`).
    pub unsent: BTreeMap<String, u64>,
    /// Event sends beyond the first: one per event per retry.
    pub retries: u64,
    /// HTTP requests made.
    pub requests: u64,
    /// Wall time from the first request to the last answer.
    pub elapsed: Duration,
}

impl SendSummary {
    /// Events refused for good, all reasons together.
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().sum()
    }

    /// Events given up on, all reasons together.
    pub fn unsent_total(&self) -> u64 {
        self.unsent.values().sum()
    }

    /// Distinct events sent per second of elapsed time.
    pub fn events_per_second(&self) -> f64 {
        let secs = self.elapsed.as_secs_f64();
        if secs > 0.0 {
            self.sent as f64 / secs
        } else {
            0.0
        }
    }

    /// Adds a batch's counts (everything but `sent` and `elapsed`, which belong to the run).
    pub fn merge(&mut self, batch: SendSummary) {
        self.accepted += batch.accepted;
        self.duplicates += batch.duplicates;
        self.retries += batch.retries;
        self.requests += batch.requests;
        for (reason, count) in batch.rejected {
            *self.rejected.entry(reason).or_default() += count;
        }
        for (reason, count) in batch.unsent {
            *self.unsent.entry(reason).or_default() += count;
        }
    }
}

impl fmt::Display for SendSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "sent:       {}", self.sent)?;
        writeln!(f, "accepted:   {}", self.accepted)?;
        writeln!(f, "duplicates: {}", self.duplicates)?;
        writeln!(
            f,
            "rejected:   {}{}",
            self.rejected_total(),
            by_reason(&self.rejected)
        )?;
        writeln!(
            f,
            "unsent:     {}{}",
            self.unsent_total(),
            by_reason(&self.unsent)
        )?;
        writeln!(
            f,
            "retries:    {} ({} requests)",
            self.retries, self.requests
        )?;
        write!(
            f,
            "elapsed:    {:.1}s ({:.0} events/s)",
            self.elapsed.as_secs_f64(),
            self.events_per_second()
        )
    }
}

fn by_reason(counts: &BTreeMap<String, u64>) -> String {
    if counts.is_empty() {
        return String::new();
    }
    let parts: Vec<String> = counts
        .iter()
        .map(|(reason, n)| format!("{reason} {n}"))
        .collect();
    format!(" ({})", parts.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn merges_batches_and_prints_reasons() {
        let mut run = SendSummary {
            sent: 10,
            ..SendSummary::default()
        };
        let batch = |accepted, reason: &str| SendSummary {
            accepted,
            rejected: BTreeMap::from([(reason.to_owned(), 1)]),
            retries: 2,
            requests: 2,
            ..SendSummary::default()
        };
        run.merge(batch(4, "out_of_range"));
        run.merge(batch(4, "out_of_range"));
        run.elapsed = Duration::from_secs(2);

        assert_eq!(run.accepted, 8);
        assert_eq!(run.rejected_total(), 2);
        assert_eq!(run.events_per_second(), 5.0);
        let text = run.to_string();
        assert!(text.contains("rejected:   2 (out_of_range 2)"), "{text}");
        assert!(text.contains("retries:    4 (4 requests)"), "{text}");
        assert!(text.ends_with("elapsed:    2.0s (5 events/s)"), "{text}");
    }
}
