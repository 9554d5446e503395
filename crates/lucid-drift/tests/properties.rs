//! Properties of the window arithmetic and the statistics: merging partitions equals counting
//! the concatenation, input order does not matter, a sliding window holds exactly its latest
//! rows, and every score stays in its range.

use lucid_drift::{
    Band, CheckOptions, ColumnKind, ColumnResult, Method, Reference, SlidingWindow, Value, Window,
    check,
};
use proptest::prelude::*;

const NUMERIC_METHODS: [Method; 7] = Method::ALL;

/// Numbers with plenty of ties and the odd non-finite value.
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        6 => (-15_i32..15).prop_map(f64::from),
        6 => -1e3..1e3_f64,
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => Just(f64::NEG_INFINITY),
        1 => Just(-0.0),
    ]
}

fn numbers(max: usize) -> impl Strategy<Value = Vec<f64>> {
    prop::collection::vec(number(), 1..max)
}

fn categories(max: usize) -> impl Strategy<Value = Vec<Option<String>>> {
    let category = prop_oneof![
        8 => prop::sample::select(vec!["a", "b", "c", "é", "Z"]).prop_map(|c| Some(c.to_owned())),
        1 => Just(None),
    ];
    prop::collection::vec(category, 1..max)
}

fn categorical_window(values: &[Option<String>]) -> Window {
    Window::from_categories(values.iter().map(Option::as_deref))
}

fn options(method: Method) -> CheckOptions {
    CheckOptions {
        min_reference: 1,
        min_current: 1,
        ..CheckOptions::with_method(method)
    }
}

/// Every applicable method's result, `None` where the method does not apply.
fn all_results(reference: &Reference, window: &Window) -> Vec<Option<ColumnResult>> {
    NUMERIC_METHODS
        .iter()
        .map(|method| check(reference, window, &options(*method)).ok())
        .collect()
}

proptest! {
    #[test]
    fn merging_numeric_partitions_equals_the_concatenation(
        reference in numbers(80), first in numbers(60), second in numbers(60),
    ) {
        let reference = Reference::from_numbers(reference);
        let mut merged = Window::from_numbers(first.iter().copied());
        merged.merge(&Window::from_numbers(second.iter().copied())).expect("same kind");
        let whole = Window::from_numbers(first.into_iter().chain(second));
        prop_assert_eq!(merged.len(), whole.len());
        prop_assert_eq!(merged.dropped(), whole.dropped());
        prop_assert_eq!(all_results(&reference, &merged), all_results(&reference, &whole));
    }

    #[test]
    fn merging_categorical_partitions_equals_the_concatenation(
        reference in categories(80), first in categories(60), second in categories(60),
    ) {
        let reference = Reference::new(categorical_window(&reference));
        let mut merged = categorical_window(&first);
        merged.merge(&categorical_window(&second)).expect("same kind");
        let whole: Vec<_> = first.into_iter().chain(second).collect();
        let whole = categorical_window(&whole);
        prop_assert_eq!(merged.dropped(), whole.dropped());
        prop_assert_eq!(all_results(&reference, &merged), all_results(&reference, &whole));
    }

    #[test]
    fn numeric_statistics_ignore_input_order(
        (reference, shuffled_reference) in numbers(80).prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        (current, shuffled_current) in numbers(80).prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
    ) {
        let results = all_results(&Reference::from_numbers(reference), &Window::from_numbers(current));
        let shuffled = all_results(
            &Reference::from_numbers(shuffled_reference),
            &Window::from_numbers(shuffled_current),
        );
        prop_assert_eq!(results, shuffled);
    }

    #[test]
    fn categorical_statistics_ignore_input_order(
        (current, shuffled) in categories(80).prop_flat_map(|v| (Just(v.clone()), Just(v).prop_shuffle())),
        reference in categories(80),
    ) {
        let reference = Reference::new(categorical_window(&reference));
        prop_assert_eq!(
            all_results(&reference, &categorical_window(&current)),
            all_results(&reference, &categorical_window(&shuffled)),
        );
    }

    #[test]
    fn scores_stay_in_range(reference in numbers(80), current in numbers(80)) {
        let reference = Reference::from_numbers(reference);
        let window = Window::from_numbers(current);
        for result in all_results(&reference, &window).into_iter().flatten() {
            if result.band == Band::InsufficientData {
                prop_assert_eq!(result.score, None);
                continue;
            }
            let score = result.score.expect("enough data");
            let statistic = result.statistic.expect("enough data");
            match result.measure.name() {
                "ks" => prop_assert!((0.0..=1.0).contains(&statistic)),
                "jensenshannon" => prop_assert!((0.0..=2_f64.ln().sqrt() + 1e-12).contains(&score)),
                "chisquare" => prop_assert!(statistic >= 0.0),
                "z" => prop_assert!(!statistic.is_nan()),
                _ => prop_assert!(score >= 0.0 && score.is_finite(), "{} {}", result.measure, score),
            }
            if let Some(p) = result.p_value {
                prop_assert!((0.0..=1.0).contains(&p), "{} p {}", result.measure, p);
            }
        }
    }

    #[test]
    fn a_sliding_window_holds_exactly_its_latest_rows(
        values in numbers(400), capacity in 1_u64..120, slices in 1_u32..8,
    ) {
        prop_assume!(u64::from(slices) <= capacity);
        let mut sliding = SlidingWindow::new(ColumnKind::Numeric, capacity, slices)
            .expect("valid shape");
        for value in &values {
            sliding.push(Value::Number(*value)).expect("numeric");
        }
        let rows = sliding.rows();
        let slice = capacity.div_ceil(u64::from(slices));
        prop_assert!(rows <= capacity);
        prop_assert!(rows as usize == values.len() || rows > capacity - slice);
        let latest = Window::from_numbers(values[values.len() - rows as usize..].iter().copied());
        let reference = Reference::from_numbers([0.0, 1.0, 2.0]);
        prop_assert_eq!(all_results(&reference, &sliding.window()), all_results(&reference, &latest));
    }
}
