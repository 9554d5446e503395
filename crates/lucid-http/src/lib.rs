//! Serving an axum router with the limits a public endpoint needs.
//!
//! `axum::serve` has no header-read timeout and no connection cap, so a client that opens
//! sockets and sends half a request holds them forever until the process runs out of file
//! descriptors. [`serve`] runs each connection through hyper with a header-read timeout, bounds
//! the whole request (so a body that never arrives is cut off too), caps open connections, and
//! drains on shutdown within a grace period. [`serve_grpc`] does the same for a gRPC service,
//! with gRPC health and reflection beside it.

use std::{sync::Arc, time::Duration};

use axum::Router;
use hyper_util::{
    rt::{TokioExecutor, TokioIo, TokioTimer},
    server::{conn::auto::Builder, graceful::GracefulShutdown},
    service::TowerToHyperService,
};
use tokio::{net::TcpListener, sync::Semaphore};
use tokio_util::sync::CancellationToken;

mod grpc;

pub use grpc::{GrpcError, serve_grpc};

/// Limits of one HTTP listener.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Time to receive a request's headers after the connection opened or the last response.
    pub header_read_timeout: Duration,
    /// Time to receive the body and answer; past it the client gets 408.
    pub request_timeout: Duration,
    /// Most connections open at once; further clients wait in the accept backlog.
    pub max_connections: usize,
    /// Time given to open connections to finish after shutdown is requested.
    pub shutdown_grace: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            header_read_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_connections: 4096,
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

/// Serves `router` on `listener` until `shutdown`, then drains.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let router = router.layer(tower_http::timeout::TimeoutLayer::with_status_code(
        axum::http::StatusCode::REQUEST_TIMEOUT,
        limits.request_timeout,
    ));
    let mut builder = Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    let graceful = GracefulShutdown::new();

    loop {
        let permit = tokio::select! {
            _ = shutdown.cancelled() => break,
            permit = slots.clone().acquire_owned() => permit.expect("the semaphore is never closed"),
        };
        let stream = tokio::select! {
            _ = shutdown.cancelled() => break,
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of descriptors or a reset before accept: wait a little, keep serving.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
        };

        let service = TowerToHyperService::new(router.clone());
        let connection = builder
            .serve_connection_with_upgrades(TokioIo::new(stream), service)
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            let _held = permit;
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
        });
    }

    if tokio::time::timeout(limits.shutdown_grace, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!("connections still open after the shutdown grace period");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    async fn server(limits: Limits) -> (String, CancellationToken) {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        let router =
            Router::new().route("/", axum::routing::post(|body: String| async move { body }));
        let shutdown = CancellationToken::new();
        tokio::spawn(serve(listener, router, limits, shutdown.clone()));
        (addr, shutdown)
    }

    #[tokio::test]
    async fn half_sent_headers_are_cut_off() {
        let limits = Limits {
            header_read_timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let (addr, _shutdown) = server(limits).await;
        let mut socket = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        socket
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\n")
            .await
            .expect("write");

        let mut buf = Vec::new();
        let read = tokio::time::timeout(Duration::from_secs(5), socket.read_to_end(&mut buf)).await;
        assert!(
            read.is_ok(),
            "the server closed the connection within the timeout"
        );
    }

    #[tokio::test]
    async fn a_body_that_never_arrives_gets_408() {
        let limits = Limits {
            request_timeout: Duration::from_millis(300),
            ..Limits::default()
        };
        let (addr, _shutdown) = server(limits).await;
        let mut socket = tokio::net::TcpStream::connect(&addr)
            .await
            .expect("connect");
        socket
            .write_all(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
            .await
            .expect("write");

        let mut buf = vec![0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(5), socket.read(&mut buf))
            .await
            .expect("answered")
            .expect("read");
        assert!(
            String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 408"),
            "{}",
            String::from_utf8_lossy(&buf[..n])
        );
    }

    #[tokio::test]
    async fn ordinary_requests_are_served() {
        let (addr, shutdown) = server(Limits::default()).await;
        let answer = reqwest::Client::new()
            .post(format!("http://{addr}/"))
            .body("hello")
            .send()
            .await
            .expect("send");
        assert_eq!(answer.text().await.expect("body"), "hello");
        shutdown.cancel();
    }
}
