//! Time-of-day profiles: how likely a session is to start in each hour.
//!
//! Hours are UTC; the simulated listeners all live on UTC. Weights are relative (the busiest hour
//! is 1.0); the share of sessions in a set of hours is the sum of their weights over the sum of
//! all 24 (see `docs/simulator.md`).

use chrono::{DateTime, Timelike, Utc};

/// Relative session-start weight of each hour 0-23 on a normal day: quiet nights, a morning
/// commute peak and the evening peak.
#[rustfmt::skip]
pub const DAY_PROFILE: [f64; 24] = [
    0.20, 0.12, 0.08, 0.06, 0.06, 0.10, // 00-05
    0.30, 0.70, 0.90, 0.75, 0.55, 0.55, // 06-11
    0.70, 0.65, 0.55, 0.55, 0.65, 0.85, // 12-17
    1.00, 0.95, 0.85, 0.75, 0.55, 0.35, // 18-23
];

/// Relative session-start weight of each hour 0-23 for night-shift listeners.
#[rustfmt::skip]
pub const NIGHT_PROFILE: [f64; 24] = [
    1.00, 0.95, 0.85, 0.70, 0.55, 0.40, // 00-05
    0.25, 0.20, 0.15, 0.12, 0.10, 0.10, // 06-11
    0.10, 0.10, 0.10, 0.10, 0.12, 0.15, // 12-17
    0.20, 0.30, 0.45, 0.60, 0.80, 0.95, // 18-23
];

/// True for the night hours, 22:00 to 05:59.
pub fn is_night_hour(hour: u32) -> bool {
    hour >= 22 || hour <= 5
}

/// True for the commute hours, 07:00 to 09:59.
pub fn is_commute_hour(hour: u32) -> bool {
    (7..=9).contains(&hour)
}

/// The weight of the hour `time` falls in.
pub fn weight_at(profile: &[f64; 24], time: DateTime<Utc>) -> f64 {
    profile[time.hour() as usize]
}

/// The share of a full day's sessions that start in night hours under `profile`.
pub fn night_share(profile: &[f64; 24]) -> f64 {
    let night: f64 = (0..24)
        .filter(|h| is_night_hour(*h))
        .map(|h| profile[h as usize])
        .sum();
    night / profile.iter().sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn night_shares_match_the_hand_sums() {
        // Day: night hours sum to 0.55 + 0.35 + 0.20 + 0.12 + 0.08 + 0.06 + 0.06 + 0.10 = 1.52
        // of a day total of 12.77.
        assert!((night_share(&DAY_PROFILE) - 1.52 / 12.77).abs() < 1e-9);
        // Night: 0.80 + 0.95 + 1.00 + 0.95 + 0.85 + 0.70 + 0.55 + 0.40 = 6.20 of 9.34.
        assert!((night_share(&NIGHT_PROFILE) - 6.20 / 9.34).abs() < 1e-9);
    }

    #[test]
    fn busiest_hour_weighs_one() {
        let max = |p: &[f64; 24]| p.iter().copied().fold(0.0, f64::max);
        assert_eq!(max(&DAY_PROFILE), 1.0);
        assert_eq!(max(&NIGHT_PROFILE), 1.0);
    }

    #[test]
    fn night_and_commute_hours() {
        let night: Vec<u32> = (0..24).filter(|h| is_night_hour(*h)).collect();
        assert_eq!(night, [0, 1, 2, 3, 4, 5, 22, 23]);
        let commute: Vec<u32> = (0..24).filter(|h| is_commute_hour(*h)).collect();
        assert_eq!(commute, [7, 8, 9]);
    }
}
