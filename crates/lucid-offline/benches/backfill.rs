//! Throughput of the log and the backfill on simulated listening over the real catalog.
//!
//! `LUCID_CATALOG_DIR=<catalog> cargo bench -p lucid-offline --bench backfill` (the scripts set
//! the variable; see scripts/lib/env.sh).

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use chrono::{TimeDelta, TimeZone, Utc};
use lucid_catalog::{Catalog, Genre};
use lucid_events::ListeningEvent;
use lucid_features::{Registry, STARTER_DEFINITIONS, TrackAttrs};
use lucid_offline::{LoggedEvent, OfflineLog, read_events, training_set};
use lucid_simulator::{SimConfig, simulate};

fn main() {
    let dir = std::env::var("LUCID_CATALOG_DIR")
        .expect("set LUCID_CATALOG_DIR to the track catalog folder (scripts/fetch-data)");
    let catalog = Catalog::load(Path::new(&dir)).expect("the track catalog loads");
    let attrs: HashMap<i64, TrackAttrs> = catalog
        .tracks()
        .iter()
        .map(|t| {
            let a = TrackAttrs {
                energy: t.energy,
                valence: t.valence,
                tempo: t.tempo,
                danceability: t.danceability,
                acousticness: t.acousticness,
                genre_hiphop: t.genre.map(|g| g == Genre::HipHop),
            };
            (t.id, a)
        })
        .collect();
    let end = Utc
        .with_ymd_and_hms(2027, 1, 20, 0, 0, 0)
        .single()
        .expect("valid date");
    let config = SimConfig::ending_at(end, TimeDelta::days(7));
    let inputs = simulate(&catalog, config).expect("simulate");
    let logged: Vec<LoggedEvent> = inputs
        .iter()
        .take(50_000)
        .enumerate()
        .map(|(i, input)| {
            let event = ListeningEvent::from_input(input, format!("p-{}", input.user_id), end);
            let attrs = event.track_id.and_then(|t| attrs.get(&t).copied());
            LoggedEvent {
                event,
                attrs,
                late: false,
                partition: 0,
                offset: i as i64,
            }
        })
        .collect();

    let dir = tempfile::tempdir().expect("temp dir");
    let started = Instant::now();
    let mut log = OfflineLog::open(dir.path()).expect("open");
    log.append(&logged).expect("append");
    log.flush().expect("flush");
    let write_s = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let events = read_events(dir.path()).expect("read");
    let read_s = started.elapsed().as_secs_f64();
    assert_eq!(events.len(), logged.len());

    let registry = Registry::from_toml(STARTER_DEFINITIONS).expect("starter definitions");
    let features = registry
        .service("skip_model")
        .expect("service")
        .features
        .clone();
    let started = Instant::now();
    let rows = training_set(&registry, &events, &features).expect("backfill");
    let backfill_s = started.elapsed().as_secs_f64();
    println!(
        "events={} rows={} write_s={write_s:.3} read_s={read_s:.3} backfill_s={backfill_s:.3} \
         events_per_s={:.0} rows_per_s={:.0}",
        events.len(),
        rows.len(),
        events.len() as f64 / backfill_s,
        rows.len() as f64 / backfill_s,
    );
}
