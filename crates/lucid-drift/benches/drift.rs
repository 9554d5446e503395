//! The drift benchmark (run by `scripts/bench-drift`, which first has `evidently_drift.py` write
//! the data and time Evidently on it): one thread, 15 columns (10 numeric, 5 categorical).
//!
//! - push rate: every current record pushed into 15 windows, value by value, then folded;
//! - a full check of the reference against the current data, from prepared state (references
//!   built, windows maintained: what the service does per check) and from raw values (building
//!   references and windows with the batch constructors too: what Evidently does per report);
//! - the ratio to Evidently's time on the same data, and Evidently's per-column scores next to
//!   ours.
//!
//!   cargo bench -p lucid-drift --bench drift -- DATA_DIR [ROUNDS]

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lucid_drift::{
    CheckOptions, ColumnKind, ColumnResult, DEFAULT_DRIFT_SHARE, Reference, Window, check,
    dataset_verdict,
};
use serde::Deserialize;

const NUMERIC: usize = 10;
const CATEGORICAL: usize = 5;

#[derive(Deserialize)]
struct Evidently {
    evidently: String,
    rows: usize,
    count_seconds: f64,
    count_cpu_seconds: f64,
    preset_seconds: f64,
    preset_cpu_seconds: f64,
    drifted_columns: f64,
    columns: std::collections::BTreeMap<String, EvidentlyColumn>,
}

#[derive(Deserialize)]
struct EvidentlyColumn {
    method: String,
    score: f64,
}

/// One side (reference or current) of the data set.
struct Side {
    numeric: Vec<Vec<f64>>,
    codes: Vec<Vec<u8>>,
}

fn read(path: PathBuf) -> Vec<u8> {
    std::fs::read(&path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()))
}

fn load(dir: &Path, side: &str) -> Side {
    let numeric = (0..NUMERIC)
        .map(|i| {
            read(dir.join(format!("{side}_n{i}.f64")))
                .chunks_exact(8)
                .map(|bytes| f64::from_le_bytes(bytes.try_into().expect("8-byte chunks")))
                .collect()
        })
        .collect();
    let codes = (0..CATEGORICAL)
        .map(|i| read(dir.join(format!("{side}_c{i}.u8"))))
        .collect();
    Side { numeric, codes }
}

fn names(dir: &Path) -> Vec<Vec<String>> {
    (0..CATEGORICAL)
        .map(|i| {
            let text = String::from_utf8(read(dir.join(format!("names_c{i}.txt"))))
                .expect("names are UTF-8");
            text.lines().map(str::to_owned).collect()
        })
        .collect()
}

/// Pushes every record of `side` into fresh windows, value by value, and folds them.
fn push_all(side: &Side, names: &[Vec<String>]) -> Vec<Window> {
    let mut numeric: Vec<Window> = (0..NUMERIC)
        .map(|_| Window::new(ColumnKind::Numeric))
        .collect();
    let mut categorical: Vec<Window> = (0..CATEGORICAL)
        .map(|_| Window::new(ColumnKind::Categorical))
        .collect();
    for row in 0..side.numeric[0].len() {
        for (window, values) in numeric.iter_mut().zip(&side.numeric) {
            window.push_number(values[row]).expect("numeric window");
        }
        for ((window, codes), names) in categorical.iter_mut().zip(&side.codes).zip(names) {
            window
                .push_category(&names[usize::from(codes[row])])
                .expect("categorical window");
        }
    }
    numeric.extend(categorical);
    numeric.iter_mut().for_each(Window::fold);
    numeric
}

/// Builds the windows of `side` column by column with the batch constructors.
fn batch(side: &Side, names: &[Vec<String>]) -> Vec<Window> {
    let numeric = side
        .numeric
        .iter()
        .map(|values| Window::from_numbers(values.iter().copied()));
    let categorical = side.codes.iter().zip(names).map(|(codes, names)| {
        Window::from_categories(
            codes
                .iter()
                .map(|code| Some(names[usize::from(*code)].as_str())),
        )
    });
    numeric.chain(categorical).collect()
}

fn check_all(references: &[Reference], windows: &[Window]) -> Vec<ColumnResult> {
    let options = CheckOptions::default();
    references
        .iter()
        .zip(windows)
        .map(|(reference, window)| check(reference, window, &options).expect("kinds match"))
        .collect()
}

/// Wall-clock and CPU time of one run. CPU time is this thread's time on a core
/// (`/proc/thread-self/schedstat`), which other work on a busy machine disturbs less.
#[derive(Clone, Copy)]
struct Timing {
    wall: Duration,
    cpu: Duration,
}

fn thread_cpu() -> Duration {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").unwrap_or_default();
    let nanos = text
        .split_whitespace()
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Duration::from_nanos(nanos)
}

/// Runs `work` `rounds` times; the median wall and CPU times, and the last result.
fn time<T>(rounds: usize, mut work: impl FnMut() -> T) -> (Timing, T) {
    let (mut walls, mut cpus, mut last) = (Vec::new(), Vec::new(), None);
    for _ in 0..rounds.max(1) {
        let (wall, cpu) = (Instant::now(), thread_cpu());
        last = Some(std::hint::black_box(work()));
        walls.push(wall.elapsed());
        cpus.push(thread_cpu().saturating_sub(cpu));
    }
    walls.sort();
    cpus.sort();
    let timing = Timing {
        wall: walls[walls.len() / 2],
        cpu: cpus[cpus.len() / 2],
    };
    (timing, last.expect("at least one round"))
}

fn main() {
    let args: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| a != "--bench")
        .collect();
    let dir = PathBuf::from(args.first().expect("usage: drift DATA_DIR [ROUNDS]"));
    let rounds: usize = args
        .get(1)
        .map_or(3, |r| r.parse().expect("ROUNDS is a number"));
    let evidently: Evidently = serde_json::from_slice(&read(dir.join("evidently.json")))
        .expect("evidently.json from evidently_drift.py");
    let (reference, current, names) = (load(&dir, "reference"), load(&dir, "current"), names(&dir));
    let rows = current.numeric[0].len();
    assert_eq!(
        rows, evidently.rows,
        "data and Evidently's timing are from one run"
    );

    let (push, _) = time(rounds, || push_all(&current, &names));
    let (from_raw, _) = time(rounds, || {
        let references: Vec<Reference> = batch(&reference, &names)
            .into_iter()
            .map(Reference::new)
            .collect();
        let results = check_all(&references, &batch(&current, &names));
        dataset_verdict(&results, DEFAULT_DRIFT_SHARE)
    });
    let references: Vec<Reference> = push_all(&reference, &names)
        .into_iter()
        .map(Reference::new)
        .collect();
    let windows = push_all(&current, &names);
    let (prepared, results) = time(rounds, || check_all(&references, &windows));
    report(&evidently, rows, [push, prepared, from_raw], &results);
}

fn report(evidently: &Evidently, rows: usize, timings: [Timing; 3], results: &[ColumnResult]) {
    let [push, prepared, from_raw] = timings;
    let both = |t: Timing| {
        format!(
            "{:.3} s ({:.3} s CPU)",
            t.wall.as_secs_f64(),
            t.cpu.as_secs_f64()
        )
    };
    println!(
        "drift benchmark: {rows} reference + {rows} current rows, 10 numeric + 5 categorical \
         columns, one thread"
    );
    let rate = |t: Duration| rows as f64 / t.as_secs_f64();
    println!(
        "push: {} for {rows} records: {:.0} records/s ({:.0} by CPU time)",
        both(push),
        rate(push.wall),
        rate(push.cpu)
    );
    println!("check, prepared state: {}", both(prepared));
    println!(
        "check, from raw values (build references and windows, check): {}",
        both(from_raw)
    );
    println!(
        "Evidently {}: DriftedColumnsCount {:.2} s ({:.2} s CPU), DataDriftPreset {:.2} s ({:.2} s CPU)",
        evidently.evidently,
        evidently.count_seconds,
        evidently.count_cpu_seconds,
        evidently.preset_seconds,
        evidently.preset_cpu_seconds,
    );
    for (what, ours) in [("prepared state", prepared), ("from raw values", from_raw)] {
        let (wall, cpu) = (ours.wall.as_secs_f64(), ours.cpu.as_secs_f64());
        println!(
            "ratio, {what}: DataDriftPreset {:.0}x ({:.0}x CPU), DriftedColumnsCount {:.0}x ({:.0}x CPU)",
            evidently.preset_seconds / wall,
            evidently.preset_cpu_seconds / cpu,
            evidently.count_seconds / wall,
            evidently.count_cpu_seconds / cpu,
        );
    }

    let names = (0..NUMERIC)
        .map(|i| format!("n{i}"))
        .chain((0..CATEGORICAL).map(|i| format!("c{i}")));
    let mut largest = 0.0_f64;
    println!("column  measure        ours                  Evidently             band");
    for (name, result) in names.zip(results) {
        let theirs = &evidently.columns[&name];
        let ours = result.score.unwrap_or(f64::NAN);
        largest = largest.max((ours - theirs.score).abs());
        println!(
            "{name:<7} {:<14} {ours:<21} {:<21} {:?} ({})",
            result.measure.name(),
            theirs.score,
            result.band,
            theirs.method,
        );
    }
    let verdict = dataset_verdict(results, DEFAULT_DRIFT_SHARE);
    println!(
        "drifted columns: ours {}, Evidently {}; largest score difference {largest:e}",
        verdict.drifted, evidently.drifted_columns
    );
}
