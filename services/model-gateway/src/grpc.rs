//! `inference.GRPCInferenceService`, the KServe V2 gRPC API. Inputs come as typed contents or
//! as `raw_input_contents` (little-endian; BYTES elements each behind a 4-byte length), as
//! Triton and KServe clients send them.

use std::collections::HashMap;

use lucid_proto::inference::{
    self as pb, grpc_inference_service_server::GrpcInferenceService,
    infer_parameter::ParameterChoice,
};
use serde_json::Value;

use crate::{
    api::{OUTPUT_DATATYPE, REQUEST_ID, REQUEST_TIME, output_fp64, request_id, request_time},
    error::GatewayError,
    infer::{Gateway, Request},
    tensors::{self, Data, OUTPUT, Tensor},
};

/// The gRPC service.
pub struct Inference {
    pub(crate) gateway: Gateway,
}

type Reply<T> = Result<tonic::Response<T>, tonic::Status>;

#[tonic::async_trait]
impl GrpcInferenceService for Inference {
    async fn server_live(
        &self,
        _: tonic::Request<pb::ServerLiveRequest>,
    ) -> Reply<pb::ServerLiveResponse> {
        Ok(tonic::Response::new(pb::ServerLiveResponse { live: true }))
    }

    async fn server_ready(
        &self,
        _: tonic::Request<pb::ServerReadyRequest>,
    ) -> Reply<pb::ServerReadyResponse> {
        let ready = self.gateway.ready();
        Ok(tonic::Response::new(pb::ServerReadyResponse { ready }))
    }

    async fn model_ready(
        &self,
        request: tonic::Request<pb::ModelReadyRequest>,
    ) -> Reply<pb::ModelReadyResponse> {
        let name = request.into_inner().name;
        if !self.gateway.serves(&name) {
            return Err(GatewayError::UnknownModel(name).into());
        }
        let ready = self.gateway.stable(&name).is_ok();
        Ok(tonic::Response::new(pb::ModelReadyResponse { ready }))
    }

    async fn server_metadata(
        &self,
        _: tonic::Request<pb::ServerMetadataRequest>,
    ) -> Reply<pb::ServerMetadataResponse> {
        Ok(tonic::Response::new(pb::ServerMetadataResponse {
            name: crate::SERVER_NAME.into(),
            version: env!("CARGO_PKG_VERSION").into(),
            extensions: Vec::new(),
        }))
    }

    async fn model_metadata(
        &self,
        request: tonic::Request<pb::ModelMetadataRequest>,
    ) -> Reply<pb::ModelMetadataResponse> {
        let metadata = self.gateway.metadata(&request.into_inner().name)?;
        let tensor = |name: &str| pb::model_metadata_response::TensorMetadata {
            name: name.to_owned(),
            datatype: "FP32".into(),
            shape: vec![-1],
        };
        Ok(tonic::Response::new(pb::ModelMetadataResponse {
            inputs: metadata.features.iter().map(|f| tensor(f)).collect(),
            outputs: vec![tensor(OUTPUT)],
            name: metadata.name,
            versions: metadata.versions,
            platform: crate::PLATFORM.into(),
        }))
    }

    async fn model_infer(
        &self,
        request: tonic::Request<pb::ModelInferRequest>,
    ) -> Reply<pb::ModelInferResponse> {
        let request = request.into_inner();
        let model = request.model_name.clone();
        let (parsed, fp64) = parse(request, self.gateway.max_rows())
            .inspect_err(|error| self.gateway.count_refused(&model, error))?;
        let (model, request_id) = (parsed.model.clone(), parsed.request_id.clone());
        let answer = self.gateway.infer(parsed, "grpc").await?;

        let n = answer.scores.len() as i64;
        let (datatype, contents) = if fp64 {
            let fp64_contents = answer.scores.iter().map(|s| f64::from(*s)).collect();
            (
                "FP64",
                pb::InferTensorContents {
                    fp64_contents,
                    ..Default::default()
                },
            )
        } else {
            let fp32_contents = answer.scores.clone();
            (
                "FP32",
                pb::InferTensorContents {
                    fp32_contents,
                    ..Default::default()
                },
            )
        };
        let parameters = [
            (REQUEST_ID, request_id.clone()),
            ("route", answer.route.to_owned()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), text_parameter(v)))
        .collect();
        Ok(tonic::Response::new(pb::ModelInferResponse {
            model_name: model,
            model_version: answer.version,
            id: request_id,
            parameters,
            outputs: vec![pb::model_infer_response::InferOutputTensor {
                name: OUTPUT.into(),
                datatype: datatype.into(),
                shape: vec![n],
                parameters: HashMap::new(),
                contents: Some(contents),
            }],
            raw_output_contents: Vec::new(),
        }))
    }
}

fn text_parameter(value: String) -> pb::InferParameter {
    pb::InferParameter {
        parameter_choice: Some(ParameterChoice::StringParam(value)),
    }
}

/// The request, and whether FP64 output was asked for.
fn parse(request: pb::ModelInferRequest, max_rows: usize) -> Result<(Request, bool), GatewayError> {
    if !request.model_version.is_empty() {
        // Not yet: pinning a version, because the route table decides who sees which version.
        return Err(GatewayError::bad(format!(
            "model_version {:?} given; leave it empty, the route table chooses the version",
            request.model_version
        )));
    }
    if let Some(other) = request.outputs.iter().find(|o| o.name != OUTPUT) {
        return Err(GatewayError::bad(format!(
            "output {:?} does not exist; the model has one output, {OUTPUT:?}",
            other.name
        )));
    }
    let parameter = |name: &str| request.parameters.get(name).and_then(json_of);
    let fp64 = output_fp64(parameter(OUTPUT_DATATYPE).as_ref())?;
    let request_id = request_id(parameter(REQUEST_ID).as_ref(), Some(&request.id))?;
    let as_of_ms = request_time(parameter(REQUEST_TIME).as_ref())?;

    let raw = request.raw_input_contents;
    if !raw.is_empty() && raw.len() != request.inputs.len() {
        return Err(GatewayError::bad(format!(
            "{} raw_input_contents for {} inputs",
            raw.len(),
            request.inputs.len()
        )));
    }
    let mut inputs = Vec::with_capacity(request.inputs.len());
    for (index, input) in request.inputs.into_iter().enumerate() {
        let data = match raw.get(index) {
            Some(bytes) => raw_data(&input.name, &input.datatype, bytes)?,
            None => typed_data(
                &input.name,
                &input.datatype,
                input.contents.unwrap_or_default(),
            )?,
        };
        inputs.push(Tensor {
            name: input.name,
            shape: input.shape,
            data,
        });
    }
    let parsed = Request {
        model: request.model_name,
        request_id,
        input: tensors::parse(inputs, max_rows)?,
        as_of_ms,
    };
    Ok((parsed, fp64))
}

fn json_of(parameter: &pb::InferParameter) -> Option<Value> {
    Some(match parameter.parameter_choice.clone()? {
        ParameterChoice::StringParam(s) => Value::String(s),
        ParameterChoice::BoolParam(b) => Value::Bool(b),
        ParameterChoice::Int64Param(i) => Value::from(i),
        ParameterChoice::Uint64Param(u) => Value::from(u),
        ParameterChoice::DoubleParam(d) => Value::from(d),
    })
}

fn unsupported(name: &str, datatype: &str) -> GatewayError {
    GatewayError::bad(format!(
        "input {name:?} has datatype {datatype:?}; use BYTES, INT64, INT32, FP64 or FP32"
    ))
}

fn typed_data(
    name: &str,
    datatype: &str,
    c: pb::InferTensorContents,
) -> Result<Data, GatewayError> {
    Ok(match datatype {
        "BYTES" => Data::Bytes(
            c.bytes_contents
                .into_iter()
                .map(|b| utf8(name, b))
                .collect::<Result<_, _>>()?,
        ),
        "INT64" => Data::Ints(c.int64_contents),
        "INT32" => Data::Ints(c.int_contents.into_iter().map(i64::from).collect()),
        "FP64" => Data::Floats(c.fp64_contents),
        "FP32" => Data::Floats(c.fp32_contents.into_iter().map(f64::from).collect()),
        other => return Err(unsupported(name, other)),
    })
}

fn raw_data(name: &str, datatype: &str, bytes: &[u8]) -> Result<Data, GatewayError> {
    let width = match datatype {
        "BYTES" => return raw_bytes(name, bytes).map(Data::Bytes),
        "INT64" | "FP64" => 8,
        "INT32" | "FP32" => 4,
        other => return Err(unsupported(name, other)),
    };
    if !bytes.len().is_multiple_of(width) {
        return Err(GatewayError::bad(format!(
            "raw contents of input {name:?} ({datatype}) are {} bytes, not a multiple of {width}",
            bytes.len()
        )));
    }
    let chunks = bytes.chunks_exact(width);
    Ok(match datatype {
        "INT64" => Data::Ints(
            chunks
                .map(|c| i64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        ),
        "INT32" => Data::Ints(
            chunks
                .map(|c| i64::from(i32::from_le_bytes(c.try_into().expect("4 bytes"))))
                .collect(),
        ),
        "FP64" => Data::Floats(
            chunks
                .map(|c| f64::from_le_bytes(c.try_into().expect("8 bytes")))
                .collect(),
        ),
        _ => Data::Floats(
            chunks
                .map(|c| f64::from(f32::from_le_bytes(c.try_into().expect("4 bytes"))))
                .collect(),
        ),
    })
}

/// BYTES elements in raw form: each a 4-byte little-endian length, then that many bytes.
fn raw_bytes(name: &str, mut bytes: &[u8]) -> Result<Vec<String>, GatewayError> {
    let truncated = || {
        GatewayError::bad(format!(
            "raw contents of input {name:?} (BYTES) are truncated"
        ))
    };
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (len, rest) = bytes.split_first_chunk::<4>().ok_or_else(truncated)?;
        let len = u32::from_le_bytes(*len) as usize;
        if rest.len() < len {
            return Err(truncated());
        }
        out.push(utf8(name, rest[..len].to_vec())?);
        bytes = &rest[len..];
    }
    Ok(out)
}

fn utf8(name: &str, bytes: Vec<u8>) -> Result<String, GatewayError> {
    String::from_utf8(bytes)
        .map_err(|_| GatewayError::bad(format!("input {name:?} holds bytes that are not UTF-8")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_raw_contents() {
        let mut bytes = Vec::new();
        for s in ["ab", ""] {
            bytes.extend_from_slice(&(s.len() as u32).to_le_bytes());
            bytes.extend_from_slice(s.as_bytes());
        }
        assert_eq!(raw_bytes("u", &bytes).expect("valid"), ["ab", ""]);
        assert!(raw_bytes("u", &bytes[..5]).is_err());
        let floats: Vec<u8> = [0.5f32, 2.0].iter().flat_map(|f| f.to_le_bytes()).collect();
        assert_eq!(
            raw_data("x", "FP32", &floats).expect("valid"),
            Data::Floats(vec![0.5, 2.0])
        );
        assert!(raw_data("x", "FP64", &floats[..6]).is_err());
    }
}
