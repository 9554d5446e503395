//! A count-based sliding window, as a ring of sub-windows.
//!
//! Removing single values from sorted counts would cost a search per value and keep every raw
//! value around to know what to remove. Instead the window is cut into `slices` sub-windows of
//! `ceil(capacity / slices)` rows each: rows go into the newest; when it is full a new one is
//! started, and whenever the window holds more than `capacity` rows the oldest slice is dropped
//! whole. Once full, the window therefore spans more than `capacity - slice` and at most
//! `capacity` of the latest rows (dropped values count as rows). A check merges the
//! sub-windows, which costs their distinct values.

use std::collections::VecDeque;

use crate::error::DriftError;
use crate::method::ColumnKind;
use crate::window::{Value, Window};

/// The latest rows of one column, about `capacity` of them.
#[derive(Debug, Clone)]
pub struct SlidingWindow {
    kind: ColumnKind,
    capacity: u64,
    slice_rows: u64,
    rows: u64,
    ring: VecDeque<Window>,
}

impl SlidingWindow {
    /// A window over the latest `capacity` rows, kept as `slices` sub-windows; more slices
    /// follow the stream more closely and cost more to merge at a check.
    pub fn new(kind: ColumnKind, capacity: u64, slices: u32) -> Result<Self, DriftError> {
        if capacity == 0 || slices == 0 || u64::from(slices) > capacity {
            return Err(DriftError::InvalidSlidingWindow { capacity, slices });
        }
        Ok(SlidingWindow {
            kind,
            capacity,
            slice_rows: capacity.div_ceil(u64::from(slices)),
            rows: 0,
            ring: VecDeque::from([Window::new(kind)]),
        })
    }

    /// What the window holds.
    pub fn kind(&self) -> ColumnKind {
        self.kind
    }

    /// Adds one value, retiring the oldest slices while the window holds more than its capacity.
    pub fn push(&mut self, value: Value<'_>) -> Result<(), DriftError> {
        if self
            .ring
            .back()
            .is_none_or(|newest| newest.rows() >= self.slice_rows)
        {
            self.ring.push_back(Window::new(self.kind));
        }
        let newest = self.ring.back_mut().expect("the ring always holds a slice");
        newest.push(value)?;
        self.rows += 1;
        // A slice holds at most `slice_rows <= capacity` rows, so the newest is never retired.
        while self.rows > self.capacity {
            match self.ring.pop_front() {
                Some(oldest) => self.rows -= oldest.rows(),
                None => break,
            }
        }
        Ok(())
    }

    /// Rows currently spanned, dropped values included.
    pub fn rows(&self) -> u64 {
        self.rows
    }

    /// The whole window as one [`Window`], ready for a check.
    pub fn window(&self) -> Window {
        let mut merged = Window::new(self.kind);
        for slice in &self.ring {
            // Every slice was made with this window's kind, so the merge cannot fail.
            let _ = merged.merge(slice);
        }
        merged.fold();
        merged
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_between_capacity_minus_a_slice_and_capacity() {
        let mut window = SlidingWindow::new(ColumnKind::Numeric, 100, 4).expect("valid window");
        for i in 0..1000 {
            window
                .push(Value::Number(f64::from(i)))
                .expect("numeric value");
            let rows = window.rows();
            assert!(rows <= 100, "{rows} rows after {i}");
            if i >= 100 {
                assert!(rows > 75, "{rows} rows after {i}");
            }
        }
        // The latest 100 rows are 900..=999: the oldest full slice starts at 900.
        let merged = window.window();
        let smallest = merged.numbers().range().map(|(low, _)| low);
        assert_eq!(smallest, Some(900.0));
        assert_eq!(merged.len(), 100);
    }

    #[test]
    fn refuses_empty_shapes() {
        assert!(SlidingWindow::new(ColumnKind::Numeric, 0, 1).is_err());
        assert!(SlidingWindow::new(ColumnKind::Numeric, 10, 0).is_err());
        assert!(SlidingWindow::new(ColumnKind::Numeric, 3, 4).is_err());
    }
}
