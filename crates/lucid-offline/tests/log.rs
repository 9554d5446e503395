//! The offline log: what is written is read back, field for field, in the right folders.

mod common;

use std::fs;
use std::path::{Path, PathBuf};

use common::{B, attrs, event};
use lucid_events::{Action, Context, Platform};
use lucid_offline::{LoggedEvent, OfflineLog, read_events};

fn folders(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .expect("log dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn files(dir: &Path) -> Vec<PathBuf> {
    let mut paths: Vec<PathBuf> = fs::read_dir(dir)
        .expect("date dir")
        .map(|e| e.expect("entry").path())
        .collect();
    paths.sort();
    paths
}

fn sorted(mut events: Vec<LoggedEvent>) -> Vec<LoggedEvent> {
    events.sort_by(|a, b| a.event.event_id.cmp(&b.event.event_id));
    events
}

#[test]
fn every_field_nulls_and_the_late_flag_survive_a_round_trip() {
    let mut play = event("a-play", "s-1", B, Action::Play, Some((7, 3)));
    play.event.listened_ms = Some(-5);
    play.event.context = Context::TherapyProgram;
    play.event.platform = Platform::Ios;
    play.attrs = Some(attrs(0.5, 0.25));
    (play.partition, play.offset) = (11, 9_000_000_000);

    let mut mood = event("b-mood", "s-1", B + 1, Action::MoodCheckin, None);
    (mood.event.mood_valence, mood.event.mood_arousal) = (Some(2), Some(9));
    mood.event.platform = Platform::Other;
    (mood.late, mood.partition, mood.offset) = (true, 2, 0);

    let mut unknown_genre = event("c-skip", "s-2", B + 2, Action::Skip, Some((8, 0)));
    unknown_genre.attrs = Some(lucid_features::TrackAttrs {
        genre_hiphop: None,
        ..attrs(0.875, 0.0)
    });
    unknown_genre.event.track_duration_ms = None;

    let written = vec![play, mood, unknown_genre];
    let dir = tempfile::tempdir().expect("temp dir");
    let mut log = OfflineLog::open(dir.path()).expect("open");
    log.append(&written).expect("append");
    assert_eq!(log.pending_rows(), 3);
    let files_written = log.flush().expect("flush");
    assert_eq!(files_written.len(), 1, "one date, one file");
    assert_eq!(log.pending_rows(), 0);

    let read = sorted(read_events(dir.path()).expect("read"));
    assert_eq!(read, written);
    assert_eq!(read[1].event.track_id, None);
    assert!(read[1].late);
    assert_eq!(read[2].attrs.and_then(|a| a.genre_hiphop), None);
}

#[test]
fn events_land_in_the_folder_of_their_utc_date() {
    // B − 8 h − 1 ms is 2027-01-14T23:59:59.999Z; B − 8 h is midnight of the 15th.
    let before = event(
        "e-1",
        "s-1",
        B - 8 * 3_600_000 - 1,
        Action::Play,
        Some((7, 0)),
    );
    let after = event("e-2", "s-1", B - 8 * 3_600_000, Action::Skip, Some((7, 0)));
    let dir = tempfile::tempdir().expect("temp dir");
    let mut log = OfflineLog::open(dir.path())
        .expect("open")
        .with_flush_rows(2);

    log.append(std::slice::from_ref(&before)).expect("append");
    assert!(
        folders(dir.path()).is_empty(),
        "below the threshold nothing is written"
    );
    log.append(std::slice::from_ref(&after)).expect("append");
    assert_eq!(log.pending_rows(), 0, "reaching the threshold flushes");

    assert_eq!(folders(dir.path()), ["date=2027-01-14", "date=2027-01-15"]);
    for (folder, expected) in [("date=2027-01-14", &before), ("date=2027-01-15", &after)] {
        let parts = files(&dir.path().join(folder));
        assert_eq!(parts.len(), 1);
        let name = parts[0]
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        assert!(
            name.starts_with("part-") && name.ends_with(".parquet"),
            "{name}"
        );
        assert_eq!(
            read_events(&parts[0]).ok(),
            None,
            "a file is not a directory"
        );
        let events = lucid_offline::read_file(&parts[0]).expect("read part");
        assert_eq!(events, std::slice::from_ref(expected));
    }
}

#[test]
fn each_flush_adds_a_file_and_readers_skip_hidden_ones() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut log = OfflineLog::open(dir.path()).expect("open");
    log.append(&[event("e-1", "s-1", B, Action::Play, Some((7, 0)))])
        .expect("append");
    log.flush().expect("flush");
    log.append(&[event("e-2", "s-1", B + 5, Action::Skip, Some((7, 0)))])
        .expect("append");
    log.flush().expect("flush");
    assert_eq!(log.flush().expect("nothing pending").len(), 0);

    let day = dir.path().join("date=2027-01-15");
    assert_eq!(files(&day).len(), 2);
    // What a crashed writer leaves behind is hidden and not read.
    fs::write(day.join(".part-1-1.parquet.tmp"), b"partial").expect("write");
    let ids: Vec<String> = sorted(read_events(dir.path()).expect("read"))
        .into_iter()
        .map(|e| e.event.event_id)
        .collect();
    assert_eq!(ids, ["e-1", "e-2"]);
}

#[test]
fn a_file_that_is_not_parquet_is_named_in_the_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let bad = dir.path().join("date=2027-01-15").join("part-0-0.parquet");
    fs::create_dir_all(bad.parent().expect("parent")).expect("mkdir");
    fs::write(&bad, b"not parquet").expect("write");
    let error = read_events(dir.path()).expect_err("garbage");
    assert!(!error.is_retryable());
    assert!(
        error.to_string().contains(&*bad.to_string_lossy()),
        "{error}"
    );
}

#[test]
fn a_record_logged_twice_is_read_once() {
    let first = event("a", "s-1", B, Action::SessionStart, None);
    let second = event("b", "s-1", B + 1, Action::SessionEnd, None);
    let dir = tempfile::tempdir().expect("temp dir");
    let mut log = OfflineLog::open(dir.path()).expect("open");
    log.append(&[first.clone(), second.clone()])
        .expect("append");
    log.flush().expect("flush");
    // Consumed again after a crash: the same records, flushed into another file.
    log.append(std::slice::from_ref(&second)).expect("append");
    log.flush().expect("flush");

    assert_eq!(
        sorted(read_events(dir.path()).expect("read")),
        vec![first, second]
    );
}
