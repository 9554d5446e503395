//! The `local` backend: the pipeline as a subprocess of this machine.
//!
//! Each run has a folder `<state_dir>/runs/<run id>/`: `stdout` (the pipeline's JSON result),
//! `pipeline.log` (its standard error), `pid` and, once it ends, `exit` (its status). A small
//! `sh` wrapper writes `exit`, so the outcome survives a restart of the trigger: a new trigger
//! finds the folder, does not start the run again, and reads the outcome when it appears.
//! The process runs in its own process group, so a timeout stops the whole pipeline.

use std::path::{Path, PathBuf};

use tokio::process::Command;

use super::{Backend, BackendError, Job, Progress, parse_result, pipeline_args};
use crate::config::LocalConfig;

/// Runs wrapped so that the exit status lands in a file: `$1` the folder, then the command.
const WRAPPER: &str = r#"dir=$1; shift
"$@" >"$dir/stdout" 2>"$dir/pipeline.log"
echo $? >"$dir/exit.tmp" && mv "$dir/exit.tmp" "$dir/exit""#;

/// The backend.
pub struct Local {
    config: LocalConfig,
    runs_dir: PathBuf,
}

impl Local {
    /// Keeps runs' folders under `state_dir/runs`.
    pub fn new(config: LocalConfig, state_dir: &Path) -> Local {
        Local {
            config,
            runs_dir: state_dir.join("runs"),
        }
    }

    fn dir(&self, job: &Job) -> PathBuf {
        self.runs_dir.join(&job.run_id)
    }

    fn unavailable(context: &str, error: std::io::Error) -> BackendError {
        BackendError::Unavailable(format!("{context}: {error}"))
    }
}

#[async_trait::async_trait]
impl Backend for Local {
    async fn start(&self, job: &Job) -> Result<String, BackendError> {
        let dir = self.dir(job);
        if let Ok(pid) = tokio::fs::read_to_string(dir.join("pid")).await {
            return Ok(pid.trim().to_owned());
        }
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| Self::unavailable("failed to create the run folder", e))?;

        let mut args = pipeline_args(&self.config.pipeline, job);
        args.extend([
            "--pipeline-root".into(),
            dir.join("pipeline").display().to_string(),
        ]);
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(WRAPPER)
            .arg("sh")
            .arg(&dir)
            .args(&args)
            .envs(&self.config.env)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .process_group(0);
        if let Some(working_dir) = &self.config.working_dir {
            command.current_dir(working_dir);
        }
        let mut child = command
            .spawn()
            .map_err(|e| Self::unavailable("failed to start the pipeline", e))?;
        let pid = child.id().map(|p| p.to_string()).unwrap_or_default();
        tokio::fs::write(dir.join("pid"), &pid)
            .await
            .map_err(|e| Self::unavailable("failed to write the pid file", e))?;
        // Reaps the wrapper; the outcome is read from its files, not from here.
        tokio::spawn(async move {
            let _ = child.wait().await;
        });
        tracing::info!(run_id = job.run_id, pid, dir = %dir.display(), "pipeline process started");
        Ok(pid)
    }

    async fn poll(&self, job: &Job, external_id: &str) -> Result<Progress, BackendError> {
        let dir = self.dir(job);
        let exit = match tokio::fs::read_to_string(dir.join("exit")).await {
            Ok(text) => text.trim().parse::<i32>().unwrap_or(-1),
            Err(_) if Path::new("/proc").join(external_id).exists() => {
                return Ok(Progress::Running);
            }
            Err(_) => {
                return Ok(Progress::Failed(format!(
                    "the pipeline process {external_id} ended without an exit status"
                )));
            }
        };
        let log = dir.join("pipeline.log");
        if exit != 0 {
            let text = tokio::fs::read_to_string(&log).await.unwrap_or_default();
            let last = text
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            return Ok(Progress::Failed(format!(
                "pipeline exited with status {exit} ({}): {last}",
                log.display()
            )));
        }
        let stdout = tokio::fs::read_to_string(dir.join("stdout"))
            .await
            .map_err(|e| Self::unavailable("failed to read the pipeline's output", e))?;
        match parse_result(&stdout) {
            Some(outcome) => Ok(Progress::Succeeded(outcome)),
            None => Ok(Progress::Failed(format!(
                "pipeline exited 0 without a JSON result line ({})",
                log.display()
            ))),
        }
    }

    async fn stop(&self, job: &Job, external_id: &str) -> Result<(), BackendError> {
        // The wrapper leads its own process group: signal the group.
        let status = Command::new("kill")
            .args(["-TERM", "--", &format!("-{external_id}")])
            .status()
            .await
            .map_err(|e| Self::unavailable("failed to run kill", e))?;
        tracing::info!(
            run_id = job.run_id,
            pid = external_id,
            ?status,
            "pipeline process group stopped"
        );
        Ok(())
    }
}
