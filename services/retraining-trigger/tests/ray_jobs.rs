//! The `ray` backend against a real Ray head (Ray 2.60 from PyPI, started on 127.0.0.1 by
//! `scripts/stack up ray`), through its Jobs REST API.
//!
//! Most entrypoints here are short Python programs standing in for the pipeline: they receive
//! the arguments the trigger appends (`--run-name <dedupe key>`, `--model-name` ...) and print
//! the pipeline's JSON result line, fail, or sleep. The last test runs the reference pipeline
//! as a Ray job on the offline log of `end_to_end.rs` and checks the version it registered in
//! MLflow, and that starting the same run again registers nothing new.
//!
//! Needs: `scripts/stack up mlflow ray` (`LUCID_RAY_URL`, default `http://127.0.0.1:18265`); for
//! the last test also what `end_to_end.rs` needs (pipeline venv, `backfill`, track catalog).

mod common;

use std::time::{Duration, Instant};

use common::{pipeline, repo_root};
use lucid_retraining_trigger::{
    backend::{Backend, Job, Outcome, Progress, ray::Ray},
    config::{PipelineCommand, RayConfig},
    policy,
};
use serde_json::{Value, json};

/// Prints a line of progress, then the result line with the model and run name it was given.
const SUCCEEDS: &str = r#"
import json, sys
args = dict(zip(sys.argv[1::2], sys.argv[2::2]))
print("training", args["--model-name"], "as", args["--run-name"])
print(json.dumps({"model_name": args["--model-name"], "version": "7",
                  "metrics": {"auc": 0.61, "ece": None}}))
"#;

/// Fails the way a pipeline without training data would.
const FAILS: &str = r#"
import sys
print("boom: no offline log", file=sys.stderr)
sys.exit(3)
"#;

/// Runs until stopped.
const SLEEPS: &str = "import time; time.sleep(600)";

/// The head's URL; panics with how to start it when it does not answer.
async fn ray_url() -> String {
    let url = std::env::var("LUCID_RAY_URL").unwrap_or_else(|_| "http://127.0.0.1:18265".into());
    let version = reqwest::get(format!("{url}/api/version")).await;
    let answers = match version {
        Ok(answer) => answer.text().await.is_ok_and(|t| t.contains("ray_version")),
        Err(_) => false,
    };
    assert!(
        answers,
        "Ray does not answer at {url}: start a head with `scripts/stack up ray`"
    );
    url
}

fn backend(url: &str, program: &str) -> Ray {
    Ray::new(RayConfig {
        url: url.into(),
        pipeline: PipelineCommand {
            command: vec!["python3".into(), "-c".into(), program.into()],
            offline_dir: "/nonexistent/offline".into(),
            mlflow_url: "http://127.0.0.1:15000".into(),
            extra_args: Vec::new(),
        },
        runtime_env: None,
    })
}

/// A job of a model no other test run uses, keyed as an alert-decided run is.
fn job() -> Job {
    let model = format!(
        "ray-test-{}",
        &uuid::Uuid::new_v4().simple().to_string()[..8]
    );
    Job {
        run_id: uuid::Uuid::now_v7().to_string(),
        dedupe_key: policy::dedupe_key(&model, "listening-outcomes", 0, 86_400_000),
        model_name: model,
        alert_ids: vec!["a1".into(), "a2".into()],
    }
}

/// Polls until the run is no longer running.
async fn finished(ray: &Ray, job: &Job, id: &str, timeout: Duration) -> Progress {
    let deadline = Instant::now() + timeout;
    loop {
        let progress = ray.poll(job, id).await.expect("the Jobs API answers");
        if progress != Progress::Running {
            return progress;
        }
        assert!(
            Instant::now() < deadline,
            "ray job {id} still running after {timeout:?}"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

/// Ray's own view of the job.
async fn details(url: &str, id: &str) -> Value {
    reqwest::get(format!("{url}/api/jobs/{id}"))
        .await
        .expect("the Jobs API answers")
        .json()
        .await
        .expect("a job as JSON")
}

#[tokio::test]
async fn a_job_runs_under_its_dedupe_key_and_its_result_line_is_read() {
    let url = ray_url().await;
    let ray = backend(&url, SUCCEEDS);
    let job = job();

    let id = ray.start(&job).await.expect("submitted");
    assert_eq!(id, job.dedupe_key);
    let progress = finished(&ray, &job, &id, Duration::from_secs(120)).await;

    let expected = Outcome {
        model_version: Some("7".into()),
        metrics: [("auc".to_string(), Some(0.61)), ("ece".to_string(), None)].into(),
    };
    assert_eq!(progress, Progress::Succeeded(expected));
    let job_details = details(&url, &id).await;
    assert_eq!(job_details["submission_id"], job.dedupe_key.as_str());
    assert_eq!(job_details["status"], "SUCCEEDED");
    assert_eq!(job_details["metadata"]["lucid.run_id"], job.run_id.as_str());
    let logs = reqwest::get(format!("{url}/api/jobs/{id}/logs"))
        .await
        .expect("the Jobs API answers")
        .json::<Value>()
        .await
        .expect("logs as JSON");
    let line = format!("training {} as {}", job.model_name, job.dedupe_key);
    assert!(logs["logs"].as_str().is_some_and(|l| l.contains(&line)));
}

#[tokio::test]
async fn starting_the_same_key_again_finds_the_first_job() {
    let url = ray_url().await;
    let ray = backend(&url, SUCCEEDS);
    let job = job();

    let first = ray.start(&job).await.expect("submitted");
    let again = ray.start(&job).await.expect("found");
    assert_eq!(again, first);

    // After a restart the trigger starts again; even with another entrypoint the first job is
    // the run, and nothing else executes.
    let progress = finished(&ray, &job, &first, Duration::from_secs(120)).await;
    let other = backend(&url, FAILS);
    assert_eq!(other.start(&job).await.expect("found"), first);
    assert!(matches!(progress, Progress::Succeeded(_)), "{progress:?}");
    assert!(matches!(
        other.poll(&job, &first).await,
        Ok(Progress::Succeeded(_))
    ));

    let jobs: Vec<Value> = reqwest::get(format!("{url}/api/jobs/"))
        .await
        .expect("the Jobs API answers")
        .json()
        .await
        .expect("jobs as JSON");
    let same_key = jobs
        .iter()
        .filter(|j| j["submission_id"] == job.dedupe_key.as_str())
        .count();
    assert_eq!(same_key, 1);
}

#[tokio::test]
async fn a_failing_entrypoint_reports_failed_with_rays_message() {
    let url = ray_url().await;
    let ray = backend(&url, FAILS);
    let job = job();

    let id = ray.start(&job).await.expect("submitted");
    let progress = finished(&ray, &job, &id, Duration::from_secs(120)).await;

    let Progress::Failed(reason) = progress else {
        panic!("expected a failure, got {progress:?}")
    };
    assert!(
        reason.starts_with("ray job FAILED: Job entrypoint command failed with exit code 3"),
        "{reason}"
    );
    assert!(reason.contains("boom: no offline log"), "{reason}");
}

#[tokio::test]
async fn stop_stops_a_running_job() {
    let url = ray_url().await;
    let ray = backend(&url, SLEEPS);
    let job = job();

    let id = ray.start(&job).await.expect("submitted");
    let deadline = Instant::now() + Duration::from_secs(120);
    while details(&url, &id).await["status"] != "RUNNING" {
        assert!(Instant::now() < deadline, "ray job {id} never ran");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }

    let stopping = Instant::now();
    ray.stop(&job, &id).await.expect("stopped");
    let progress = finished(&ray, &job, &id, Duration::from_secs(30)).await;
    assert!(
        matches!(&progress, Progress::Failed(r) if r.starts_with("ray job STOPPED")),
        "{progress:?}"
    );
    assert!(stopping.elapsed() < Duration::from_secs(30));
    assert_eq!(details(&url, &id).await["status"], "STOPPED");
    // Stopping a job that has ended is not an error.
    ray.stop(&job, &id).await.expect("nothing left to stop");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_reference_pipeline_runs_as_a_ray_job_and_registers_one_version() {
    let url = ray_url().await;
    let mlflow = pipeline::mlflow_url();
    let python = pipeline::python();
    let backfill = pipeline::backfill_bin();
    let dir = tempfile::tempdir().expect("temp dir");
    let offline = dir.path().join("offline");
    pipeline::write_offline_log(&offline);

    // The head runs on this machine, so the entrypoint uses this checkout and its venv.
    let ray = Ray::new(RayConfig {
        url,
        pipeline: PipelineCommand {
            command: vec![
                python.display().to_string(),
                "-m".into(),
                "pipelines.skip_model.run".into(),
            ],
            offline_dir: offline,
            mlflow_url: mlflow.clone(),
            extra_args: vec![
                "--backfill-bin".into(),
                backfill.display().to_string(),
                "--pipeline-root".into(),
                dir.path().join("pipeline").display().to_string(),
            ],
        },
        runtime_env: Some(json!({"env_vars": {"PYTHONPATH": repo_root().display().to_string()}})),
    });
    let job = job();
    let id = ray.start(&job).await.expect("submitted");
    let progress = finished(&ray, &job, &id, Duration::from_secs(900)).await;
    let Progress::Succeeded(outcome) = progress else {
        panic!("the pipeline did not succeed on Ray: {progress:?}")
    };
    let version = outcome.model_version.clone().expect("a version");
    let auc = outcome
        .metrics
        .get("auc")
        .copied()
        .flatten()
        .expect("an AUC");
    assert!(
        auc > pipeline::AUC_FLOOR,
        "held-out AUC {auc} is not above {}",
        pipeline::AUC_FLOOR
    );

    // Starting the same run again finds the finished job: still one version in MLflow.
    assert_eq!(ray.start(&job).await.expect("found"), id);
    assert_eq!(
        ray.poll(&job, &id).await.expect("polled"),
        Progress::Succeeded(outcome)
    );
    let filter = format!("name='{}'", job.model_name);
    let versions =
        pipeline::mlflow_get(&mlflow, "model-versions/search", &[("filter", &filter)]).await;
    let listed = versions["model_versions"].as_array().expect("versions");
    assert_eq!(listed.len(), 1, "{versions}");
    assert_eq!(listed[0]["version"].as_str(), Some(version.as_str()));
    println!(
        "ray registered {} version {version}: held-out AUC {auc:.4}",
        job.model_name
    );
}
