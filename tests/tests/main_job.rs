//! The main job end to end: `scripts/demo --fast` runs the whole loop on the real catalog with the
//! real stack (broker, Redis, MLflow) and the six services, then `--bad-candidate` runs it with a
//! deliberately broken version 2. Each step is checked from what the run left behind (its run
//! folder: `result.json`, `runs.json`, `rollout.json`, `timeline.log`, `report.html`) and from
//! MLflow's registry, asked here over its REST API.
//!
//! The services are the debug build `cargo test` already compiled (`LUCID_PROFILE=debug`), so
//! the test costs a link, not a release build. Both runs are one test, in order, because they
//! share the registered model `skip-model`.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// Runs `scripts/demo --fast` with `extra` arguments; the run folder it reports.
fn demo(seed: u64, extra: &[&str]) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let log = std::env::temp_dir().join(format!("lucid-main-job-{seed}.log"));
    let file = std::fs::File::create(&log).expect("a log file in the temp folder");
    let status = Command::new(root.join("scripts/demo"))
        .args(["--fast", "--seed", &seed.to_string()])
        .args(extra)
        .env("LUCID_PROFILE", "debug")
        .stdout(file.try_clone().expect("log handle"))
        .stderr(file)
        .status()
        .expect("scripts/demo starts");
    let output = std::fs::read_to_string(&log).expect("the demo's log");
    assert!(
        status.success(),
        "scripts/demo --fast {extra:?} failed ({status}); its output ({}):\n{}",
        log.display(),
        tail(&output, 60)
    );
    let folder = output
        .lines()
        .find_map(|l| l.strip_prefix("run folder: "))
        .and_then(|l| l.split_whitespace().next())
        .unwrap_or_else(|| panic!("no run folder in the demo's output:\n{}", tail(&output, 30)));
    PathBuf::from(folder)
}

fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

fn json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{} is missing: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

/// MLflow's answer to a GET of `path` (REST API 2.0).
async fn mlflow(path: &str) -> Value {
    let url = std::env::var("LUCID_MLFLOW_URL").unwrap_or_else(|_| "http://127.0.0.1:15000".into());
    reqwest::get(format!("{url}/api/2.0/mlflow/{path}"))
        .await
        .and_then(|r| r.error_for_status())
        .unwrap_or_else(|e| {
            panic!("MLflow at {url} does not answer {path} ({e}); scripts/stack up mlflow")
        })
        .json()
        .await
        .expect("MLflow answers JSON")
}

async fn alias(model: &str, alias: &str) -> Option<String> {
    let answer = mlflow(&format!("registered-models/get?name={model}")).await;
    answer["registered_model"]["aliases"]
        .as_array()?
        .iter()
        .find(|a| a["alias"] == alias)
        .and_then(|a| a["version"].as_str().map(str::to_owned))
}

/// The run's retraining runs that were not skips: exactly one, succeeded, registering `v2`;
/// its metrics as registered in MLflow.
async fn one_succeeded_run(folder: &Path, model: &str, v2: &str) -> Value {
    let runs = json(&folder.join("runs.json"));
    let started: Vec<&Value> = runs["runs"]
        .as_array()
        .expect("runs")
        .iter()
        .filter(|r| r["status"] != "SKIPPED")
        .collect();
    assert_eq!(started.len(), 1, "exactly one run: {runs:#}");
    let run = started[0];
    assert_eq!(run["status"], "SUCCEEDED", "{run:#}");
    assert_eq!(run["model_version"], v2, "{run:#}");
    assert!(
        !run["alert_ids"].as_array().expect("alert ids").is_empty(),
        "the run names its alerts: {run:#}"
    );
    let version = mlflow(&format!("model-versions/get?name={model}&version={v2}")).await;
    let run_id = version["model_version"]["run_id"].as_str().expect("run id");
    let mlflow_run = mlflow(&format!("runs/get?run_id={run_id}")).await;
    mlflow_run["run"]["data"]["metrics"].clone()
}

fn metric(metrics: &Value, name: &str) -> f64 {
    metrics
        .as_array()
        .and_then(|all| all.iter().find(|m| m["key"] == name))
        .and_then(|m| m["value"].as_f64())
        .unwrap_or_else(|| panic!("metric {name} is not logged: {metrics:#}"))
}

/// The alert names the columns the hip-hop cohort moves (the genre of what they hear) and not
/// the ones it leaves alone (how much of a track is heard, what listeners do with tracks).
fn drift_alert_names_the_shifted_columns(folder: &Path) {
    let timeline = std::fs::read_to_string(folder.join("timeline.log")).expect("timeline.log");
    let alert = timeline
        .lines()
        .find(|l| {
            l.contains("drift-alerts")
                && l.contains("monitor=listening-outcomes")
                && l.contains("band=DRIFT")
        })
        .unwrap_or_else(|| {
            panic!("no DRIFT alert of listening-outcomes in the timeline:\n{timeline}")
        });
    let drifted = alert.split("drifted: ").nth(1).unwrap_or_default();
    assert!(drifted.contains("track_genre"), "genre shifts: {alert}");
    for unshifted in ["listened_ms ", "listened_ratio ", "action "] {
        assert!(
            !drifted.contains(unshifted),
            "{unshifted} did not shift: {alert}"
        );
    }
}

/// The route table the deployment manager left in Redis for the gateway.
async fn route_table(prefix: &str, model: &str) -> Value {
    let url = std::env::var("LUCID_REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:16379".into());
    let client = redis::Client::open(url.as_str()).expect("a Redis URL");
    let mut redis = client
        .get_multiplexed_async_connection()
        .await
        .unwrap_or_else(|e| panic!("Redis at {url} does not answer ({e}); scripts/stack up"));
    let key = format!("{prefix}:gateway:routes:{model}");
    let text: Option<String> = redis::cmd("GET")
        .arg(&key)
        .query_async(&mut redis)
        .await
        .expect("GET");
    serde_json::from_str(&text.unwrap_or_else(|| panic!("no route table at {key}")))
        .expect("route table JSON")
}

fn report_plots_the_rollout(folder: &Path, candidate: &str) {
    let html = std::fs::read_to_string(folder.join("report.html")).expect("report.html");
    let start = html
        .find(r#"id="series">"#)
        .map(|i| i + r#"id="series">"#.len())
        .expect("the report carries its plotted series");
    let end = start + html[start..].find("</script>").expect("series end");
    let series: Value = serde_json::from_str(&html[start..end]).expect("series JSON");
    let weights = series["weights"].to_string();
    assert!(
        weights.contains(&format!("\"{candidate}\"")),
        "the traffic plot has version {candidate}: {weights}"
    );
    assert!(html.contains("<svg"), "the report draws its charts inline");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_loop_promotes_a_good_candidate_and_rolls_back_a_bad_one() {
    let seed = 4242;

    // A good version 2: promoted, champion.
    let folder = tokio::task::spawn_blocking(move || demo(seed, &[]))
        .await
        .expect("demo thread");
    let result = json(&folder.join("result.json"));
    let (model, v1, v2) = (
        result["model"].as_str().expect("model").to_owned(),
        result["v1"].as_str().expect("v1").to_owned(),
        result["v2"].as_str().expect("v2").to_owned(),
    );
    assert_ne!(v1, v2);
    drift_alert_names_the_shifted_columns(&folder);
    let metrics = one_succeeded_run(&folder, &model, &v2).await;
    assert!(
        metric(&metrics, "auc") > 0.52,
        "version {v2} ranks plays: {metrics:#}"
    );
    let rollout = json(&folder.join("rollout.json"));
    assert_eq!(rollout["to_version"], v2.as_str());
    assert_eq!(rollout["from_version"], v1.as_str());
    assert_eq!(rollout["state"], "promoted", "{rollout:#}");
    assert_eq!(
        alias(&model, "champion").await.as_deref(),
        Some(v2.as_str())
    );
    assert_eq!(
        alias(&model, "previous").await.as_deref(),
        Some(v1.as_str())
    );
    report_plots_the_rollout(&folder, &v2);

    // A broken version 2 (inverted scores, fine offline metrics): rolled back by the canary.
    let folder = tokio::task::spawn_blocking(move || demo(seed + 1, &["--bad-candidate"]))
        .await
        .expect("demo thread");
    let result = json(&folder.join("result.json"));
    let (v1, v2) = (
        result["v1"].as_str().expect("v1").to_owned(),
        result["v2"].as_str().expect("v2").to_owned(),
    );
    assert_eq!(result["bad_candidate"], true);
    one_succeeded_run(&folder, &model, &v2).await;
    let rollout = json(&folder.join("rollout.json"));
    assert_eq!(rollout["to_version"], v2.as_str());
    assert_eq!(rollout["state"], "rolled_back", "{rollout:#}");
    let verdict = rollout["last_analysis"]["verdict"]
        .as_str()
        .unwrap_or_default();
    assert!(
        verdict.eq_ignore_ascii_case("failed"),
        "rolled back on a failed analysis: {rollout:#}"
    );
    assert_eq!(
        alias(&model, "champion").await.as_deref(),
        Some(v1.as_str())
    );
    // The gateway's route table: all traffic on version 1, none on the candidate.
    let prefix = result["prefix"].as_str().expect("prefix");
    let table = route_table(prefix, &model).await;
    let weight = |version: &str| {
        table["routes"]
            .as_array()
            .expect("routes")
            .iter()
            .filter(|r| r["version"] == version)
            .map(|r| r["weight"].as_u64().expect("weight"))
            .sum::<u64>()
    };
    assert_eq!((weight(&v1), weight(&v2)), (100, 0), "{table:#}");
    report_plots_the_rollout(&folder, &v2);
}
