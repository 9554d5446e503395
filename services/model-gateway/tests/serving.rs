//! The gateway end to end on the local stack: a skip-model version registered in MLflow and
//! served by its `champion` alias, features from the feature store fed with simulated
//! listening. Scores over HTTP (plain JSON) and gRPC (the generated V2 client) equal the
//! reference scorer's (`lucid_model::OnnxClassifier`) on the same rows fetched directly from the
//! feature store, and equal what the predictions topic says; bad requests are refused with a
//! message naming the problem.

mod common;

use std::collections::HashMap;

use apache_avro::types::Value as Avro;
use lucid_model::OnnxClassifier;
use lucid_proto::{
    features::v1::feature_service_client::FeatureServiceClient,
    inference::{self as v2, grpc_inference_service_client::GrpcInferenceServiceClient},
};
use lucid_tests::{Stack, unique};
use serde_json::json;
use tokio_util::sync::CancellationToken;

use common::{Gateway, Mlflow};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn scores_equal_the_reference_scorer_over_http_and_grpc_and_in_the_log() {
    let stack = Stack::require();
    let mlflow_url = common::require_mlflow().await;
    let mlflow = Mlflow::new(&mlflow_url);
    let onnx = std::fs::read(common::fixture_onnx()).expect("the fixture model");
    let model = unique("skip-model");
    let version = mlflow.register(&model, &onnx).await;
    mlflow.set_alias(&model, "champion", &version).await;

    let events = common::simulated_events(23);
    let shutdown = CancellationToken::new();
    let store = common::start_store(&stack, &events, shutdown.clone()).await;
    let gateway = Gateway::start(&stack, &mlflow_url, &store.grpc_addr.to_string(), &model).await;

    let reference = OnnxClassifier::from_bytes(&onnx).expect("the reference scorer loads");
    let features = reference.features().to_vec();
    let (user, plays) = common::plays_by_user(&events)
        .into_iter()
        .next()
        .expect("plays");
    let rows: Vec<(String, i64)> = plays.into_iter().take(4).collect();
    let mut lookups = FeatureServiceClient::connect(format!("http://{}", store.grpc_addr))
        .await
        .expect("the feature store answers");
    let mut expected = Vec::new();
    let mut expected_values = Vec::new();
    for (session, track) in &rows {
        let values = common::features_of(&mut lookups, &features, &user, session, *track).await;
        let row = reference.row(|f| {
            let i = features.iter().position(|n| n == f)?;
            values[i].map(|v| v as f32)
        });
        expected.push(reference.score_rows(&[row]).expect("scores")[0]);
        expected_values.push(values);
    }
    assert!(
        expected_values
            .iter()
            .flatten()
            .filter(|v| v.is_some())
            .count()
            >= rows.len() * 4,
        "a real comparison needs present features: {expected_values:?}"
    );

    // Metadata: the inputs are the model's features.
    let metadata: serde_json::Value = reqwest::get(format!("{}/v2/models/{model}", gateway.http))
        .await
        .expect("metadata answers")
        .json()
        .await
        .expect("json");
    let inputs: Vec<&str> = metadata["inputs"]
        .as_array()
        .expect("inputs")
        .iter()
        .filter_map(|i| i["name"].as_str())
        .collect();
    assert_eq!(inputs, features);
    assert_eq!(metadata["versions"], json!([version]));

    // HTTP, entity ids.
    let (status, answer) = gateway
        .infer(&common::entity_body("req-http", &user, &rows))
        .await;
    assert_eq!(status, 200, "{answer}");
    assert_eq!(answer["model_version"], json!(version));
    assert_eq!(answer["id"], json!("req-http"));
    assert_eq!(answer["parameters"]["request_id"], json!("req-http"));
    assert_eq!(answer["parameters"]["route"], json!("STABLE"));
    assert_eq!(answer["outputs"][0]["name"], json!("skip_probability"));
    assert_eq!(answer["outputs"][0]["datatype"], json!("FP32"));
    let http_scores: Vec<f64> = answer["outputs"][0]["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect();
    assert_close(&http_scores, &expected, "HTTP");

    // gRPC, entity ids, with the generated client; FP64 asked for.
    let mut client = GrpcInferenceServiceClient::connect(gateway.grpc.clone())
        .await
        .expect("gRPC answers");
    let ready = client
        .model_ready(v2::ModelReadyRequest {
            name: model.clone(),
            version: String::new(),
        })
        .await
        .expect("model ready answers");
    assert!(ready.into_inner().ready);
    let answer = client
        .model_infer(grpc_request(&model, "req-grpc", &user, &rows))
        .await
        .expect("gRPC inference succeeds")
        .into_inner();
    assert_eq!(
        (answer.model_version.as_str(), answer.id.as_str()),
        (version.as_str(), "req-grpc")
    );
    let output = &answer.outputs[0];
    assert_eq!(
        (
            output.name.as_str(),
            output.datatype.as_str(),
            &output.shape
        ),
        ("skip_probability", "FP64", &vec![rows.len() as i64])
    );
    let grpc_scores = output.contents.clone().expect("contents").fp64_contents;
    assert_close(&grpc_scores, &expected, "gRPC");

    // HTTP, raw features: the values fetched independently give the same scores.
    let raw = raw_body(&features, &expected_values);
    let (status, answer) = gateway.infer(&raw).await;
    assert_eq!(status, 200, "{answer}");
    let raw_scores: Vec<f64> = answer["outputs"][0]["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|v| v.as_f64().expect("a number"))
        .collect();
    assert_close(&raw_scores, &expected, "raw features");

    // The log: one record per row and request, keyed by the listener, holding what was served.
    let logged = common::predictions(&stack.brokers, &gateway.predictions, rows.len() * 3).await;
    assert_eq!(logged.len(), rows.len() * 3);
    for request_id in ["req-http", "req-grpc"] {
        let mine: Vec<_> = logged
            .iter()
            .filter(|(_, f)| f["request_id"] == Avro::String(request_id.into()))
            .collect();
        assert_eq!(mine.len(), rows.len(), "{request_id}");
        for (key, fields) in mine {
            let row = rows
                .iter()
                .position(|(s, t)| {
                    Some(s.clone()) == session_of(fields)
                        && fields["track_id"] == Avro::Union(1, Box::new(Avro::Long(*t)))
                })
                .unwrap_or_else(|| panic!("a requested session and track: {fields:?}"));
            assert_eq!(key.as_deref(), Some(user.as_str()));
            assert_eq!(fields["model_version"], Avro::String(version.clone()));
            assert_eq!(fields["route"], Avro::Enum(0, "STABLE".into()));
            let Avro::Double(score) = fields["score"] else {
                panic!("a score")
            };
            assert!(
                (score - http_scores[row]).abs() < 1e-6,
                "{request_id} row {row}: logged {score}, answered {}",
                http_scores[row]
            );
            assert_eq!(
                logged_features(fields),
                features
                    .iter()
                    .cloned()
                    .zip(expected_values[row].clone())
                    .collect::<HashMap<_, _>>()
            );
            let Avro::Long(latency) = fields["latency_us"] else {
                panic!("a latency")
            };
            assert!(latency > 0);
        }
    }

    refuses_bad_requests(&gateway, &mut client, &user).await;

    gateway.stop().await;
    shutdown.cancel();
    store.wait().await.expect("the feature store drains");
}

async fn refuses_bad_requests(
    gateway: &Gateway,
    client: &mut GrpcInferenceServiceClient<tonic::transport::Channel>,
    user: &str,
) {
    let n = |v: i64| json!(v);
    let cases = [
        (json!({"inputs": []}), "the request has no inputs"),
        (json!({"input": []}), "not a V2 inference request"),
        (
            json!({"inputs": [{"name": "session_id", "datatype": "BYTES", "shape": [1], "data": ["s"]}]}),
            "input \"user_id\" is missing",
        ),
        (
            json!({"inputs": [
                {"name": "user_id", "datatype": "BYTES", "shape": [1], "data": [user]},
                {"name": "session_id", "datatype": "BYTES", "shape": [1], "data": ["s"]},
                {"name": "track_id", "datatype": "FP32", "shape": [1], "data": [1.5]}]}),
            "must be INT64",
        ),
        (
            json!({"inputs": [{"name": "session_activity:plays", "datatype": "FP32", "shape": [1], "data": [n(1)]}]}),
            "missing inputs for features",
        ),
        (
            json!({"inputs": [{"name": "no_such:feature", "datatype": "FP32", "shape": [1], "data": [n(1)]}]}),
            "\"no_such:feature\" is not a feature of the model",
        ),
        (
            json!({"inputs": [
                {"name": "user_id", "datatype": "BYTES", "shape": [2], "data": [user]},
                {"name": "session_id", "datatype": "BYTES", "shape": [1], "data": ["s"]}]}),
            "has 1 elements for shape [2]",
        ),
    ];
    for (body, message) in cases {
        let (status, answer) = gateway.infer(&body).await;
        assert_eq!(status, 400, "{body} gave {answer}");
        let error = answer["error"].as_str().expect("an error message");
        assert!(
            error.contains(message),
            "{body}: {error:?} lacks {message:?}"
        );
    }
    let unknown = reqwest::Client::new()
        .post(format!("{}/v2/models/no-such-model/infer", gateway.http))
        .json(&common::entity_body("r", user, &[("s".into(), 1)]))
        .send()
        .await
        .expect("answers");
    assert_eq!(unknown.status(), 404);

    let mut bad = grpc_request(&gateway.model, "bad", user, &[("s".into(), 1)]);
    bad.inputs.remove(1);
    let status = client.model_infer(bad).await.expect_err("refused");
    assert_eq!(status.code(), tonic::Code::InvalidArgument);
    assert!(
        status.message().contains("\"session_id\""),
        "{}",
        status.message()
    );
}

fn grpc_request(
    model: &str,
    request_id: &str,
    user: &str,
    rows: &[(String, i64)],
) -> v2::ModelInferRequest {
    let n = rows.len() as i64;
    let tensor = |name: &str, datatype: &str, contents| v2::model_infer_request::InferInputTensor {
        name: name.into(),
        datatype: datatype.into(),
        shape: vec![n],
        parameters: HashMap::new(),
        contents: Some(contents),
    };
    let text = |values: Vec<Vec<u8>>| v2::InferTensorContents {
        bytes_contents: values,
        ..Default::default()
    };
    let parameter = |value: &str| v2::InferParameter {
        parameter_choice: Some(v2::infer_parameter::ParameterChoice::StringParam(
            value.into(),
        )),
    };
    v2::ModelInferRequest {
        model_name: model.into(),
        model_version: String::new(),
        id: String::new(),
        parameters: HashMap::from([
            ("request_id".to_owned(), parameter(request_id)),
            ("output_datatype".to_owned(), parameter("FP64")),
        ]),
        inputs: vec![
            tensor(
                "user_id",
                "BYTES",
                text(vec![user.as_bytes().to_vec(); rows.len()]),
            ),
            tensor(
                "session_id",
                "BYTES",
                text(rows.iter().map(|(s, _)| s.as_bytes().to_vec()).collect()),
            ),
            tensor(
                "track_id",
                "INT64",
                v2::InferTensorContents {
                    int64_contents: rows.iter().map(|(_, t)| *t).collect(),
                    ..Default::default()
                },
            ),
        ],
        outputs: Vec::new(),
        raw_input_contents: Vec::new(),
    }
}

/// A raw-feature request: one FP64 input per feature; a value the store did not have is sent
/// as null (JSON has no NaN), which the gateway reads as missing.
fn raw_body(features: &[String], rows: &[Vec<Option<f64>>]) -> serde_json::Value {
    let inputs: Vec<serde_json::Value> = features
        .iter()
        .enumerate()
        .map(|(i, name)| {
            let column: Vec<f64> = rows.iter().map(|r| r[i].unwrap_or(f64::NAN)).collect();
            json!({"name": name, "datatype": "FP64", "shape": [rows.len()], "data": column})
        })
        .collect();
    json!({"id": "req-raw", "inputs": inputs})
}

fn assert_close(got: &[f64], expected: &[f32], what: &str) {
    assert_eq!(got.len(), expected.len(), "{what}");
    for (row, (g, e)) in got.iter().zip(expected).enumerate() {
        assert!(
            (g - f64::from(*e)).abs() < 1e-6,
            "{what} row {row}: gateway {g}, reference {e}"
        );
    }
}

fn session_of(fields: &std::collections::BTreeMap<String, Avro>) -> Option<String> {
    match &fields["session_id"] {
        Avro::Union(_, inner) => match inner.as_ref() {
            Avro::String(s) => Some(s.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn logged_features(
    fields: &std::collections::BTreeMap<String, Avro>,
) -> HashMap<String, Option<f64>> {
    let Avro::Map(map) = &fields["features"] else {
        panic!("a features map")
    };
    map.iter()
        .map(|(k, v)| {
            let value = match v {
                Avro::Union(_, inner) => match inner.as_ref() {
                    Avro::Double(d) => Some(*d),
                    _ => None,
                },
                _ => None,
            };
            (k.clone(), value)
        })
        .collect()
}
