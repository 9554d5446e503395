//! Generated gRPC code for the platform's APIs, compiled from `proto/`.

/// `lucid.ingest.v1`: publishing listening events.
pub mod ingest {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("lucid.ingest.v1");
    }
}

/// `lucid.features.v1`: online feature lookups.
pub mod features {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("lucid.features.v1");
    }
}

/// `lucid.drift.v1`: the drift detector's reports.
pub mod drift {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("lucid.drift.v1");
    }
}

/// `lucid.retraining.v1`: retraining runs and manual requests.
pub mod retraining {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("lucid.retraining.v1");
    }
}

/// `lucid.deploy.v1`: rollouts of model versions and the operator's controls.
pub mod deploy {
    /// Version 1.
    pub mod v1 {
        #![allow(missing_docs, clippy::all)]
        tonic::include_proto!("lucid.deploy.v1");
    }
}

/// `inference`: the KServe V2 (Open Inference Protocol) gRPC API, served by the model gateway.
pub mod inference {
    #![allow(missing_docs, clippy::all)]
    tonic::include_proto!("inference");
}

/// The encoded descriptor set of every proto here, for gRPC server reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("lucid_descriptor");
