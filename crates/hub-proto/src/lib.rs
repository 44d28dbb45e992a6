//! The `talenthub.v1` gRPC API: code generated from `proto/` at build time (vendored
//! protoc, output in `OUT_DIR`), and the one module that converts between it and the
//! domain types of `hub-types`.

pub mod budget;
pub mod convert;
pub mod jsonl;
pub mod record;

/// Generated messages, clients and servers of package `talenthub.v1`.
#[allow(missing_docs, clippy::all, clippy::pedantic)] // generated code
pub mod pb {
    tonic::include_proto!("talenthub.v1");
}

/// Encoded file descriptor set of the API, for gRPC reflection.
pub const FILE_DESCRIPTOR_SET: &[u8] = tonic::include_file_descriptor_set!("talenthub_descriptor");
