//! Compiles `proto/` with a vendored protoc, so no system protoc is needed.

use std::{env, path::PathBuf};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let protoc = protoc_bin_vendored::protoc_bin_path()?;
    // SAFETY: a build script runs single-threaded; PROTOC tells prost-build which protoc to run.
    unsafe { env::set_var("PROTOC", protoc) };

    let root = PathBuf::from(env::var("CARGO_MANIFEST_DIR")?).join("../../proto");
    let out = PathBuf::from(env::var("OUT_DIR")?);
    let files = [
        "lucid/ingest/v1/ingest.proto",
        "lucid/features/v1/features.proto",
        "lucid/drift/v1/drift.proto",
        "inference/grpc_predict_v2.proto",
        "lucid/retraining/v1/retraining.proto",
        "lucid/deploy/v1/deploy.proto",
    ]
    .map(|f| root.join(f));

    tonic_prost_build::configure()
        .file_descriptor_set_path(out.join("lucid_descriptor.bin"))
        .compile_protos(&files, std::slice::from_ref(&root))?;

    println!("cargo:rerun-if-changed={}", root.display());
    Ok(())
}
