//! Serving a gRPC service with health and reflection beside it.

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tonic::service::Routes;

/// The gRPC server could not start or failed.
#[derive(Debug, thiserror::Error)]
pub enum GrpcError {
    /// The descriptor set for reflection is invalid.
    #[error("failed to build gRPC reflection: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    /// The transport failed.
    #[error("gRPC server failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// Serves `routes` until `shutdown`, with `grpc.health.v1.Health` reporting `served` (the full
/// name of the main service) as SERVING and server reflection over `descriptors`.
pub async fn serve_grpc(
    listener: TcpListener,
    routes: Routes,
    served: &str,
    descriptors: &[u8],
    shutdown: CancellationToken,
) -> Result<(), GrpcError> {
    let (reporter, health) = tonic_health::server::health_reporter();
    reporter
        .set_service_status(served, tonic_health::ServingStatus::Serving)
        .await;
    let reflection = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(descriptors)
        .build_v1()?;

    tonic::transport::Server::builder()
        .add_routes(routes.add_service(health).add_service(reflection))
        .serve_with_incoming_shutdown(
            // Small answers must not wait for Nagle's algorithm and the peer's delayed ACK (40 ms).
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true)),
            shutdown.cancelled_owned(),
        )
        .await?;
    Ok(())
}
