//! What every service binary does around its own work: load its config, start the logs, run
//! until SIGTERM or ctrl-c, and turn the outcome into an exit code; and wait for a started
//! service's tasks.

use std::{fmt::Display, future::Future, net::SocketAddr, process::ExitCode};

use anyhow::Context as _;
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::sync::CancellationToken;

use crate::{LogFormat, init_logs, shutdown_on_signals};

/// The body of a service's `main`. `config` is the loaded config, or why it could not be loaded
/// (printed, exit status 2); `log_format` picks the log format from it; `run` is the service's
/// run function, given a token cancelled by SIGTERM or ctrl-c. A run that fails is logged with
/// its causes and ends with status 1.
pub async fn run_main<C, E, F, Fut>(
    name: &str,
    config: Result<C, E>,
    log_format: impl FnOnce(&C) -> LogFormat,
    run: F,
) -> ExitCode
where
    E: Display,
    F: FnOnce(C, CancellationToken) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let config = match config {
        Ok(config) => config,
        Err(error) => {
            eprintln!("{name}: {error}");
            return ExitCode::from(2);
        }
    };
    init_logs(log_format(&config), "info,rdkafka=warn");
    let shutdown = shutdown_on_signals();
    match run(config, shutdown).await {
        Ok(()) => {
            tracing::info!("stopped after draining");
            ExitCode::SUCCESS
        }
        Err(error) => {
            tracing::error!(error = format!("{error:#}"), "{name} stopped with an error");
            ExitCode::FAILURE
        }
    }
}

/// A service's gRPC and HTTP listeners, bound, with the addresses they got (port 0: any).
pub struct Listeners {
    /// The gRPC listener.
    pub grpc: TcpListener,
    /// The HTTP listener.
    pub http: TcpListener,
    /// Where the gRPC listener is bound.
    pub grpc_addr: SocketAddr,
    /// Where the HTTP listener is bound.
    pub http_addr: SocketAddr,
}

impl Listeners {
    /// Binds both; an error names the address that could not be bound.
    pub async fn bind(grpc: SocketAddr, http: SocketAddr) -> anyhow::Result<Listeners> {
        let grpc = TcpListener::bind(grpc)
            .await
            .with_context(|| format!("failed to bind the gRPC listener on {grpc}"))?;
        let http = TcpListener::bind(http)
            .await
            .with_context(|| format!("failed to bind the HTTP listener on {http}"))?;
        let (grpc_addr, http_addr) = (grpc.local_addr()?, http.local_addr()?);
        Ok(Listeners {
            grpc,
            http,
            grpc_addr,
            http_addr,
        })
    }
}

/// A started service: its bound addresses and its tasks (loops and servers).
pub struct Service {
    /// gRPC listener.
    pub grpc_addr: SocketAddr,
    /// HTTP listener.
    pub http_addr: SocketAddr,
    name: &'static str,
    tasks: JoinSet<anyhow::Result<()>>,
}

impl Service {
    /// A service named `name` (in logs and errors) listening on the two addresses.
    pub fn new(
        name: &'static str,
        grpc_addr: SocketAddr,
        http_addr: SocketAddr,
        tasks: JoinSet<anyhow::Result<()>>,
    ) -> Service {
        Service {
            grpc_addr,
            http_addr,
            name,
            tasks,
        }
    }

    /// Logs where it listens, then waits for its tasks.
    pub async fn run(self) -> anyhow::Result<()> {
        tracing::info!(grpc = %self.grpc_addr, http = %self.http_addr, "{} listening", self.name);
        self.wait().await
    }

    /// Waits for every task to stop; the last error, if any.
    pub async fn wait(mut self) -> anyhow::Result<()> {
        wait_all(&mut self.tasks, self.name).await
    }
}

/// Waits for every task of a service; the last error, if any. `service` names it in the
/// message of a task that panicked.
pub async fn wait_all(
    tasks: &mut JoinSet<anyhow::Result<()>>,
    service: &str,
) -> anyhow::Result<()> {
    let mut outcome = Ok(());
    while let Some(joined) = tasks.join_next().await {
        let result = match joined {
            Ok(result) => result,
            Err(error) => Err(anyhow::anyhow!("{service} task panicked: {error}")),
        };
        if let Err(error) = result {
            outcome = Err(error);
        }
    }
    outcome
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_every_task_and_keeps_an_error() {
        let mut tasks = JoinSet::new();
        tasks.spawn(async { Ok(()) });
        tasks.spawn(async { Err(anyhow::anyhow!("broker gone")) });
        tasks.spawn(async { panic!("bug") });
        let error = wait_all(&mut tasks, "feature store")
            .await
            .expect_err("failed");
        let text = error.to_string();
        assert!(
            text == "broker gone" || text.starts_with("feature store task panicked"),
            "{text}"
        );
        assert!(tasks.is_empty());

        let mut tasks: JoinSet<anyhow::Result<()>> = JoinSet::new();
        tasks.spawn(async { Ok(()) });
        assert!(wait_all(&mut tasks, "x").await.is_ok());
    }
}
