//! The starter definitions shipped in `features.toml` parse and hold what they promise.

use lucid_features::{Aggregation, EntityType, Field, Registry, Window};

fn starter() -> Registry {
    Registry::from_toml(include_str!("../features.toml")).expect("features.toml is valid")
}

#[test]
fn the_starter_file_defines_three_views_and_one_service() {
    let registry = starter();
    let views: Vec<(&str, EntityType, usize)> = registry
        .views()
        .iter()
        .map(|v| (v.name.as_str(), v.entity, v.features.len()))
        .collect();
    assert_eq!(
        views,
        [
            ("session_activity", EntityType::Session, 8),
            ("user_behaviour", EntityType::User, 3),
            ("track_popularity", EntityType::Track, 2),
        ]
    );
    let service = registry.service("skip_model").expect("skip_model");
    assert_eq!(service.features.len(), 13);
    assert_eq!(registry.services().len(), 1);
    // 7 days is the longest window, so events up to a week behind the watermark still apply.
    assert_eq!(registry.longest_window_ms(), Some(604_800_000));
}

#[test]
fn starter_features_mean_what_their_names_say() {
    let registry = starter();
    let feature = |name: &str| registry.resolve(name).expect(name).1.clone();

    let tracks = feature("user_behaviour:tracks_per_session_7d");
    let Aggregation::Ratio {
        numerator,
        denominator,
    } = tracks.aggregation
    else {
        panic!("tracks_per_session_7d is a ratio");
    };
    assert_eq!(
        format!("{numerator:?} / {denominator:?}"),
        r#"{"skip", "complete"} / {"session_start"}"#
    );
    assert_eq!(tracks.window, Window::Sliding { secs: 7 * 86_400 });

    let energy = feature("session_activity:mean_energy");
    assert_eq!(energy.aggregation, Aggregation::Mean(Field::TrackEnergy));
    assert_eq!(feature("track_popularity:plays_1h").window.tile_secs(), 300);
    assert_eq!(
        feature("session_activity:skip_rate").window.tile_secs(),
        7200
    );
    assert_eq!(
        registry.view("session_activity").map(|v| v.max_age_ms()),
        Some(1_800_000)
    );
}
