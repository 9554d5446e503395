//! `lucidctl features`: the online features of entities, from the feature store over gRPC.

use anyhow::Context;
use lucid_proto::features::v1::{
    GetOnlineFeaturesRequest, feature_service_client::FeatureServiceClient, feature_value::Status,
};

/// Options of `lucidctl features`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The feature store's gRPC address.
    #[arg(
        long,
        env = "LUCID_FEATURE_STORE_URL",
        default_value = "http://127.0.0.1:8091"
    )]
    url: String,

    /// Entity type: session, user (pseudonym) or track.
    #[arg(long, default_value = "session")]
    entity: String,

    /// A feature service whose features to show (or use --feature).
    #[arg(long, default_value = "skip_model")]
    service: String,

    /// Full feature names (`view:feature`); overrides --service.
    #[arg(long = "feature", value_name = "VIEW:FEATURE")]
    features: Vec<String>,

    /// Entity ids.
    #[arg(required = true)]
    ids: Vec<String>,
}

/// Looks the features up and prints one block per entity.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut client = FeatureServiceClient::connect(args.url.clone())
        .await
        .with_context(|| {
            format!(
                "the feature store does not answer at {}; start it (scripts/demo starts one)",
                args.url
            )
        })?;
    let request = GetOnlineFeaturesRequest {
        entity_type: args.entity.clone(),
        entity_ids: args.ids.clone(),
        features: args.features.clone(),
        feature_service: if args.features.is_empty() {
            args.service.clone()
        } else {
            String::new()
        },
        request_time_unix_ms: None,
    };
    let answer = client
        .get_online_features(request)
        .await
        .map_err(|status| anyhow::anyhow!("{}", status.message()))?
        .into_inner();

    for entity in &answer.entities {
        println!("  {} {}", args.entity, entity.entity_id);
        for (name, value) in answer.features.iter().zip(&entity.values) {
            let status = Status::try_from(value.status).unwrap_or(Status::Unspecified);
            let shown = match (status, value.value) {
                (Status::NotFound, _) | (_, None) => "-".to_owned(),
                (_, Some(v)) => format!("{v:.4}"),
            };
            let status = status.as_str_name().to_lowercase();
            println!("    {name:<44} {shown:>10}  {status}");
        }
    }
    Ok(())
}
