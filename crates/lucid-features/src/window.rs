//! Windows and the tiles that make them up.
//!
//! A window of length W is kept as tiles of size g, where g is W/12 rounded down to a whole
//! number of seconds that divides W (10m → 50s, 1h → 5m, 24h → 2h, 7d → 14h; at least 1s). Tile k
//! holds the events with event time in `[k·g, (k+1)·g)`, epoch milliseconds. A lifetime window is
//! a single tile, index 0, that never expires; it is written with size 0.
//!
//! Read at request time t, a window merges the tiles k with `k·g <= t` and `(k+1)·g > t − W`:
//! that is (t − W, t] widened to tile edges on both sides. The oldest tile is the one holding
//! t − W, so an event at exactly t − W counts, and so may events up to g older than that; the
//! newest tile is the one holding t, and nothing inside a tile is filtered, so events after t in
//! that tile count too. W/g + 1 tiles are read, 13 with this rule.

use std::fmt;
use std::ops::RangeInclusive;
use std::time::Duration;

use humantime_serde::re::humantime;

/// Tiles per window, before rounding the size down to a divisor of the window.
pub const TILES_PER_WINDOW: u64 = 12;

/// The longest window accepted, in seconds (3650 days); longer ones should be lifetime.
pub const MAX_WINDOW_SECS: u64 = 3650 * 86_400;

/// How far back events count towards a feature.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Window {
    /// Every event ever applied.
    Lifetime,
    /// Events of the last `secs` seconds, to the tile (see the module header).
    Sliding {
        /// Length of the window in seconds.
        secs: u64,
    },
}

impl Window {
    /// Parses `lifetime` or a humantime duration that is a whole number of seconds.
    pub(crate) fn parse(text: &str) -> Result<Window, String> {
        if text == "lifetime" {
            return Ok(Window::Lifetime);
        }
        let length = humantime::parse_duration(text)
            .map_err(|e| format!("{text:?} is neither lifetime nor a duration: {e}"))?;
        if length.subsec_nanos() != 0 {
            return Err(format!("{text:?} is not a whole number of seconds"));
        }
        match length.as_secs() {
            0 => Err(format!("{text:?} is empty")),
            secs if secs > MAX_WINDOW_SECS => {
                Err(format!("{text:?} is longer than 3650 days; use lifetime"))
            }
            secs => Ok(Window::Sliding { secs }),
        }
    }

    /// The tile size in seconds; 0 for lifetime.
    pub fn tile_secs(self) -> u64 {
        match self {
            Window::Lifetime => 0,
            Window::Sliding { secs } => tile_secs_for(secs),
        }
    }

    /// The window length in milliseconds; `None` for lifetime.
    pub fn length_ms(self) -> Option<i64> {
        match self {
            Window::Lifetime => None,
            Window::Sliding { secs } => Some(ms(secs)),
        }
    }

    /// The index of the tile that holds `event_time`.
    pub fn tile_index(self, event_time: i64) -> i64 {
        tile_index(self.tile_secs(), event_time)
    }

    /// The indexes of the tiles merged for a read at `t`.
    pub fn read_tiles(self, t: i64) -> RangeInclusive<i64> {
        match self.length_ms() {
            None => 0..=0,
            Some(length) => {
                let size = ms(self.tile_secs());
                t.saturating_sub(length).div_euclid(size)..=t.div_euclid(size)
            }
        }
    }

    /// When tile `k` is no longer read by any request at or after it: its end plus the window.
    pub fn tile_expiry(self, k: i64) -> Option<i64> {
        let length = self.length_ms()?;
        let size = ms(self.tile_secs());
        Some(
            k.saturating_add(1)
                .saturating_mul(size)
                .saturating_add(length),
        )
    }
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Window::Lifetime => f.write_str("lifetime"),
            Window::Sliding { secs } => {
                write!(
                    f,
                    "{}",
                    humantime::format_duration(Duration::from_secs(secs))
                )
            }
        }
    }
}

/// The tile size for a window of `window_secs`: its largest divisor at most `window_secs / 12`.
pub fn tile_secs_for(window_secs: u64) -> u64 {
    let limit = (window_secs / TILES_PER_WINDOW).max(1);
    let mut best = 1;
    let mut i = 1;
    while i * i <= window_secs {
        if window_secs.is_multiple_of(i) {
            for divisor in [i, window_secs / i] {
                if divisor <= limit && divisor > best {
                    best = divisor;
                }
            }
        }
        i += 1;
    }
    best
}

/// The index of the tile of `tile_secs` (0 for lifetime) that holds `event_time`.
pub(crate) fn tile_index(tile_secs: u64, event_time: i64) -> i64 {
    match tile_secs {
        0 => 0,
        size => event_time.div_euclid(ms(size)),
    }
}

/// `secs` in milliseconds, saturating.
pub(crate) fn ms(secs: u64) -> i64 {
    i64::try_from(secs).unwrap_or(i64::MAX).saturating_mul(1000)
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    #[test]
    fn tile_sizes_follow_the_rule() {
        // 600/12 = 50, 3600/12 = 300, 86400/12 = 7200, 604800/12 = 50400: all divide exactly.
        assert_eq!(tile_secs_for(600), 50);
        assert_eq!(tile_secs_for(3600), 300);
        assert_eq!(tile_secs_for(86_400), 7200);
        assert_eq!(tile_secs_for(604_800), 50_400);
        // 90/12 = 7 (rounded down); divisors of 90 up to 7: 1, 2, 3, 5, 6.
        assert_eq!(tile_secs_for(90), 6);
        // 13 is prime; 7 is shorter than 12 tiles of a second.
        assert_eq!(tile_secs_for(13), 1);
        assert_eq!(tile_secs_for(7), 1);
    }

    #[test]
    fn windows_parse_from_humantime_or_lifetime() {
        assert_eq!(Window::parse("lifetime"), Ok(Window::Lifetime));
        assert_eq!(Window::parse("7d"), Ok(Window::Sliding { secs: 604_800 }));
        assert_eq!(Window::parse("90s"), Ok(Window::Sliding { secs: 90 }));
        assert_eq!(
            Window::parse("1500ms"),
            Err("\"1500ms\" is not a whole number of seconds".into())
        );
        assert_eq!(Window::parse("0s"), Err("\"0s\" is empty".into()));
        assert!(Window::parse("forever").is_err());
        assert!(Window::parse("3651days").is_err());
        assert_eq!(Window::Sliding { secs: 86_400 }.to_string(), "1day");
        assert_eq!(Window::Lifetime.to_string(), "lifetime");
    }

    #[test]
    fn a_read_covers_the_tiles_holding_t_minus_w_through_t() {
        let hour = Window::Sliding { secs: 3600 };
        // g = 300 000 ms. t = 4 200 000 (70 min): t − W = 600 000 → tile 2; t → tile 14.
        assert_eq!(hour.read_tiles(4_200_000), 2..=14);
        // t = 4 320 000 (72 min): t − W = 720 000 → tile 2 (600 000..900 000); t → tile 14.
        assert_eq!(hour.read_tiles(4_320_000), 2..=14);
        // One millisecond earlier than 70 min: t − W = 599 999 → tile 1; t → tile 13.
        assert_eq!(hour.read_tiles(4_199_999), 1..=13);
        assert_eq!(hour.tile_index(599_999), 1);
        assert_eq!(hour.tile_index(-1), -1);
        // Tile 2 ends at 900 000; plus the hour: 4 500 000.
        assert_eq!(hour.tile_expiry(2), Some(4_500_000));
        assert_eq!(Window::Lifetime.read_tiles(123), 0..=0);
        assert_eq!(Window::Lifetime.tile_expiry(0), None);
    }

    proptest! {
        #[test]
        fn tile_size_divides_the_window_and_gives_at_least_twelve_tiles(w in 1u64..10_000_000) {
            let g = tile_secs_for(w);
            prop_assert_eq!(w % g, 0);
            prop_assert!(g == 1 || w / g >= TILES_PER_WINDOW);
        }

        #[test]
        fn read_tiles_are_exactly_those_meeting_the_bounds(
            w in prop::sample::select(vec![60u64, 600, 3600, 86_400]),
            t in -10_000_000_000i64..10_000_000_000,
        ) {
            let window = Window::Sliding { secs: w };
            let g = ms(window.tile_secs());
            let tiles = window.read_tiles(t);
            let (first, last) = (*tiles.start(), *tiles.end());
            // The bounds of the module header hold for the ends and fail just outside them.
            prop_assert!(first * g <= t && (first + 1) * g > t - ms(w));
            prop_assert!(last * g <= t && (last + 1) * g > t - ms(w));
            // Tile first − 1 ends at first·g, not after t − W; tile last + 1 starts after t.
            prop_assert!(first * g <= t - ms(w));
            prop_assert!((last + 1) * g > t);
            prop_assert_eq!(last - first, ms(w) / g);
        }
    }
}
