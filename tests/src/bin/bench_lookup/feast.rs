//! Feast's Python feature server holding the same user features as ours: a feature repo in a
//! temp folder filled from our snapshot by tests/feast/feast_server.py, then `feast serve`.
//!
//! Feast's keys go to their own Redis database ([`REDIS_DB`]) under a project name of their own,
//! so they never meet ours; they are deleted again when the server stops.

use std::{
    fmt::Write as _,
    os::unix::process::CommandExt,
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use lucid_tests::unique;

use crate::{FEATURES, ours::Snapshot};

/// Redis database index for Feast's online store; the feature store uses database 0.
const REDIS_DB: u32 = 1;

/// Worker processes of `feast serve`: one per core, as our server has one runtime thread per core.
pub const WORKERS: usize = 2;

/// A running `feast serve`, stopped (its whole process group) and cleaned up on drop.
pub struct FeastServer {
    /// Base URL of the HTTP feature server.
    pub url: String,
    /// Feast's version, as it reports it.
    pub version: String,
    python: PathBuf,
    dir: PathBuf,
    server: Option<Child>,
}

impl FeastServer {
    /// Creates the repo from `snapshot` in Feast's own database of the Redis at `redis_url`, then
    /// starts the server with [`WORKERS`] workers and waits until it answers.
    pub async fn start(venv: &Path, snapshot: &Snapshot, redis_url: &str) -> FeastServer {
        let dir = std::env::temp_dir().join(unique("lucid-bench-feast"));
        let repo = dir.join("repo");
        std::fs::create_dir_all(&repo).expect("temp folder is writable");
        let mut feast = FeastServer {
            url: String::new(),
            version: String::new(),
            python: venv.join("bin/python"),
            dir,
            server: None,
        };

        let csv = feast.dir.join("user_bench.csv");
        std::fs::write(&csv, to_csv(snapshot)).expect("temp folder is writable");
        feast.version = feast.setup(&repo, &csv, redis_url).await;
        feast.serve(venv, &repo).await;
        feast
    }

    /// Runs `feast_server.py setup`; returns the version line it prints last.
    async fn setup(&self, repo: &Path, csv: &Path, redis_url: &str) -> String {
        let output = tokio::process::Command::new(&self.python)
            .arg(script())
            .args(["setup", "--repo"])
            .arg(repo)
            .arg("--csv")
            .arg(csv)
            .args(["--redis", &connection_string(redis_url)])
            .args(["--project", &unique("lucid_bench").replace('-', "_")])
            .kill_on_drop(true)
            .output()
            .await
            .expect("the feast venv's python runs");
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "feast setup failed:\n{stdout}\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        stdout
            .lines()
            .rev()
            .find_map(|l| l.strip_prefix("feast "))
            .expect("setup prints the feast version last")
            .to_owned()
    }

    /// Starts `feast serve` in its own process group and waits for `/health`.
    async fn serve(&mut self, venv: &Path, repo: &Path) {
        let port = free_port();
        let log = std::fs::File::create(self.dir.join("serve.log")).expect("log file");
        let child = Command::new(venv.join("bin/feast"))
            .current_dir(repo)
            .args(["serve", "--host", "127.0.0.1", "--port", &port.to_string()])
            .args(["--workers", &WORKERS.to_string()])
            // Measured: lookups, not Uvicorn's access log nor Gunicorn recycling its workers
            // every 1000 requests (its default).
            .args(["--no-access-log", "--max-requests", "0"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("log file"))
            .stderr(log)
            .process_group(0)
            .spawn()
            .expect("the feast venv's feast runs");
        self.server = Some(child);
        self.url = format!("http://127.0.0.1:{port}");
        self.wait_ready().await;
    }

    async fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(120);
        let health = format!("{}/health", self.url);
        loop {
            if let Ok(answer) = reqwest::get(&health).await
                && answer.status().is_success()
            {
                return;
            }
            let exited = self
                .server
                .as_mut()
                .and_then(|c| c.try_wait().ok().flatten());
            assert!(
                exited.is_none() && Instant::now() < deadline,
                "feast serve did not answer ({exited:?}):\n{}",
                std::fs::read_to_string(self.dir.join("serve.log")).unwrap_or_default()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Stops the server's process group: TERM, then KILL after 10 s.
    fn stop_server(&mut self) {
        let Some(mut child) = self.server.take() else {
            return;
        };
        let group = format!("-{}", child.id());
        signal("TERM", &group);
        let deadline = Instant::now() + Duration::from_secs(10);
        while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        signal("KILL", &group);
        let _ = child.wait();
    }

    /// Deletes Feast's keys from Redis.
    fn teardown(&self) {
        let status = Command::new(&self.python)
            .arg(script())
            .args(["teardown", "--repo"])
            .arg(self.dir.join("repo"))
            .stdout(Stdio::null())
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!(
                "bench-lookup: feast teardown failed ({status:?}); its keys stay in db {REDIS_DB}"
            );
        }
    }
}

impl Drop for FeastServer {
    fn drop(&mut self) {
        self.stop_server();
        self.teardown();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Our values as CSV: `user_id`, `event_timestamp` (UTC ms), then one column per feature; an
/// absent value is an empty cell. `{}` prints the shortest decimal that reads back as the same
/// double.
fn to_csv(snapshot: &Snapshot) -> String {
    let mut csv = format!("user_id,event_timestamp,{}\n", FEATURES.join(","));
    for (user, values) in &snapshot.rows {
        write!(csv, "{user},{}", snapshot.at_ms).expect("writing to a string");
        for value in values {
            csv.push(',');
            if let Some(v) = value {
                write!(csv, "{v}").expect("writing to a string");
            }
        }
        csv.push('\n');
    }
    csv
}

/// Feast's Redis connection string for database [`REDIS_DB`] of the server at `redis_url`.
fn connection_string(redis_url: &str) -> String {
    let host_port = redis_url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .unwrap_or_default();
    format!("{host_port},db={REDIS_DB}")
}

fn script() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("feast/feast_server.py")
}

/// A port nothing listens on right now.
fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("binds a loopback port");
    listener.local_addr().expect("bound address").port()
}

fn signal(name: &str, group: &str) {
    let _ = Command::new("kill")
        .args([&format!("-{name}"), "--", group])
        .stderr(Stdio::null())
        .status();
}
