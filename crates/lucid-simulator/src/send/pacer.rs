//! Pacing requests to a rate of events per second.

use std::sync::{Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

/// Spaces requests so that events leave at the configured rate, across concurrent batches.
pub(crate) struct Pacer {
    per_event: Duration,
    next: Mutex<Instant>,
}

impl Pacer {
    /// A pacer letting `rate` events per second through, starting now.
    pub(crate) fn new(rate: f64) -> Pacer {
        Pacer {
            per_event: Duration::from_secs_f64(1.0 / rate),
            next: Mutex::new(Instant::now()),
        }
    }

    /// Waits for the slot of a request carrying `events` events.
    pub(crate) async fn wait(&self, events: usize) {
        let slot = {
            let mut next = self.next.lock().unwrap_or_else(PoisonError::into_inner);
            let slot = (*next).max(Instant::now());
            *next = slot + self.per_event.saturating_mul(events as u32);
            slot
        };
        tokio::time::sleep_until(slot).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn requests_leave_at_the_rate_of_their_events() {
        // 100 events/s: a request of 10 events takes a 100 ms slot, one of 30 takes 300 ms.
        let pacer = Pacer::new(100.0);
        let start = Instant::now();
        let mut leaves = Vec::new();
        for events in [10, 30, 10] {
            pacer.wait(events).await;
            leaves.push(start.elapsed().as_millis());
        }
        assert_eq!(leaves, [0, 100, 400]);
    }
}
