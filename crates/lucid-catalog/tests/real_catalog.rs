//! Loads the real FMA catalog folder and checks counts computed independently with Python's
//! `json` and `csv` modules on the same files.
//!
//! The folder is `$LUCID_CATALOG_DIR` when set; else `../shared/data/fma-echonest-features`
//! beside the repository when it exists; else `data/fma-echonest-features` in the repository,
//! where `scripts/fetch-data` puts it. Without the data the test fails and says how to fetch it.

use std::path::PathBuf;

use lucid_catalog::{CATALOG_DIR_ENV, Catalog, FEATURES_FILE, Genre, JoinStats};

fn catalog_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(CATALOG_DIR_ENV) {
        return PathBuf::from(dir);
    }
    let repo = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let shared = repo.join("../shared/data/fma-echonest-features");
    if shared.join(FEATURES_FILE).is_file() {
        return shared;
    }
    repo.join("data/fma-echonest-features")
}

fn load() -> Catalog {
    let dir = catalog_dir();
    assert!(
        dir.join(FEATURES_FILE).is_file(),
        "the real catalog is not at {}: run scripts/fetch-data to download it into \
         data/fma-echonest-features, or scripts/fetch-data DIR and set {CATALOG_DIR_ENV}=DIR",
        dir.display()
    );
    Catalog::load(&dir).unwrap_or_else(|error| panic!("failed to load {}: {error}", dir.display()))
}

#[test]
fn real_catalog_joins_as_counted_with_python() {
    let catalog = load();

    assert_eq!(
        catalog.stats(),
        JoinStats {
            feature_tracks: 13_129,
            metadata_rows: 17_734,
            matched: 4_802
        }
    );
    assert_eq!(catalog.len(), 13_129);
    assert_eq!(catalog.genre_count(Genre::Rock), 3_892);
    assert_eq!(catalog.genre_count(Genre::HipHop), 910);

    let tracks = catalog.tracks();
    assert_eq!(
        tracks.iter().map(|t| t.id).take(3).collect::<Vec<_>>(),
        [2, 3, 5]
    );
    assert_eq!(tracks.last().map(|t| t.id), Some(124_911));

    let listens: u64 = tracks.iter().filter_map(|t| t.listens).sum();
    assert_eq!(listens, 5_239_684);
    let hip_hop_listens: u64 = tracks
        .iter()
        .filter(|t| t.genre == Some(Genre::HipHop))
        .filter_map(|t| t.listens)
        .sum();
    assert_eq!(hip_hop_listens, 1_881_998);
    let duration_ms: i64 = tracks.iter().filter_map(|t| t.duration_ms).sum();
    assert_eq!(duration_ms, 1_100_891_000);
}

#[test]
fn real_catalog_looks_up_tracks_by_id() {
    let catalog = load();

    let two = catalog.get(2).expect("track 2 is in the features file");
    assert_eq!(two.genre, Some(Genre::HipHop));
    assert_eq!(two.duration_ms, Some(168_000));
    assert_eq!(two.listens, Some(1_293));
    assert_eq!(two.valence, 0.576660988);
    assert_eq!(two.tempo, 165.922);

    let ten = catalog.get(10).expect("track 10 has features only");
    assert_eq!(
        (ten.genre, ten.duration_ms, ten.listens),
        (None, None, None)
    );
    assert_eq!(ten.energy, 0.9245251615);

    let rock = catalog.get(153).expect("track 153");
    assert_eq!(
        (rock.genre, rock.duration_ms, rock.listens),
        (Some(Genre::Rock), Some(405_000), Some(424))
    );

    assert!(
        catalog.get(135).is_none(),
        "track 135 has metadata but no features"
    );
}
