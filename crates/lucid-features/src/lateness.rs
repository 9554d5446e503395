//! Which events are too late to apply.
//!
//! The consumer holds one [`Watermark`] per source partition. The watermark is the largest event
//! time seen on the partition; an event older than the watermark minus the longest window of the
//! registry (lifetime aside) is late: it is not applied, only counted. Such an event could only
//! change tiles that no read near the watermark looks at any more, and applying it anyway would
//! recreate tiles Redis has already expired.
//!
//! The watermark lives in memory only: after a restart or a rebalance it starts again from the
//! first event seen. A backfill that replays each partition in offset order with its own
//! watermark drops the same events as the live consumer did, restarts aside.

use crate::spec::Registry;

/// The lateness rule for one source partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watermark {
    allowed_lateness_ms: Option<i64>,
    max_event_time: Option<i64>,
    late: u64,
}

/// What to do with an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// Apply it.
    OnTime,
    /// Drop it: it is older than the watermark minus the allowed lateness.
    Late,
}

impl Watermark {
    /// A watermark allowing events as late as the registry's longest window.
    pub fn for_registry(registry: &Registry) -> Self {
        Self::with_allowed_lateness(registry.longest_window_ms())
    }

    /// A watermark allowing events `allowed_lateness_ms` behind it; any event when `None`.
    pub fn with_allowed_lateness(allowed_lateness_ms: Option<i64>) -> Self {
        Watermark {
            allowed_lateness_ms,
            max_event_time: None,
            late: 0,
        }
    }

    /// Judges an event and, when on time, moves the watermark up to its time.
    pub fn admit(&mut self, event_time: i64) -> Admission {
        if let (Some(watermark), Some(allowed)) = (self.max_event_time, self.allowed_lateness_ms)
            && event_time < watermark.saturating_sub(allowed)
        {
            self.late += 1;
            return Admission::Late;
        }
        self.max_event_time = Some(
            self.max_event_time
                .map_or(event_time, |w| w.max(event_time)),
        );
        Admission::OnTime
    }

    /// The largest event time seen; `None` before the first event.
    pub fn current(&self) -> Option<i64> {
        self.max_event_time
    }

    /// How many events were judged late.
    pub fn late_count(&self) -> u64 {
        self.late
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_older_than_watermark_minus_window_are_late() {
        let mut watermark = Watermark::with_allowed_lateness(Some(3_600_000));
        assert_eq!(watermark.admit(10_000_000), Admission::OnTime);
        // 10 000 000 − 3 600 000 = 6 400 000: at the bound is on time, one ms before is late.
        assert_eq!(watermark.admit(6_400_000), Admission::OnTime);
        assert_eq!(watermark.admit(6_399_999), Admission::Late);
        assert_eq!(watermark.current(), Some(10_000_000));
        assert_eq!(watermark.late_count(), 1);
    }

    #[test]
    fn an_out_of_order_event_does_not_move_the_watermark_back() {
        let mut watermark = Watermark::with_allowed_lateness(Some(1_000));
        watermark.admit(5_000);
        watermark.admit(4_500);
        assert_eq!(watermark.current(), Some(5_000));
        watermark.admit(7_000);
        // Now the bound is 6 000: 5 999 is late although it was not before.
        assert_eq!(watermark.admit(5_999), Admission::Late);
    }

    #[test]
    fn nothing_is_late_without_a_finite_window() {
        let mut watermark = Watermark::with_allowed_lateness(None);
        watermark.admit(i64::MAX);
        assert_eq!(watermark.admit(i64::MIN), Admission::OnTime);
        assert_eq!(watermark.late_count(), 0);
    }
}
