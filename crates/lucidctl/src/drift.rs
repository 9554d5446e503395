//! `lucidctl drift`: the drift detector's monitors and their latest reports, over gRPC.

use anyhow::Context;
use lucid_proto::drift::v1::{
    Band, ColumnReport, ListMonitorsRequest, Report, drift_service_client::DriftServiceClient,
};

/// Options of `lucidctl drift`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The drift detector's gRPC address.
    #[arg(
        long,
        env = "LUCID_DRIFT_DETECTOR_URL",
        default_value = "http://127.0.0.1:8095"
    )]
    url: String,

    /// Show only this monitor, with every column.
    monitor: Option<String>,
}

/// Prints every monitor's band, or one monitor's latest report column by column.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut client = DriftServiceClient::connect(args.url.clone())
        .await
        .with_context(|| {
            format!(
                "the drift detector does not answer at {}; start it (scripts/demo starts one)",
                args.url
            )
        })?;
    let monitors = client
        .list_monitors(ListMonitorsRequest {})
        .await
        .map_err(|status| anyhow::anyhow!("{}", status.message()))?
        .into_inner()
        .monitors;
    let shown: Vec<_> = monitors
        .iter()
        .filter(|m| args.monitor.as_ref().is_none_or(|name| &m.name == name))
        .collect();
    if shown.is_empty() {
        let names: Vec<_> = monitors.iter().map(|m| m.name.as_str()).collect();
        anyhow::bail!(
            "no monitor named {:?}; monitors: {}",
            args.monitor.unwrap_or_default(),
            names.join(", ")
        );
    }
    for monitor in shown {
        let Some(report) = &monitor.latest else {
            let state = if monitor.reference_ready {
                "waiting for data"
            } else {
                "building its reference"
            };
            println!("{:<28} {state}", monitor.name);
            continue;
        };
        print_summary(&monitor.name, report);
        if args.monitor.is_some() {
            print_columns(&report.columns);
        }
    }
    Ok(())
}

fn band(value: i32) -> String {
    let name = Band::try_from(value)
        .unwrap_or(Band::Unspecified)
        .as_str_name();
    name.trim_start_matches("BAND_").to_lowercase()
}

fn print_summary(name: &str, report: &Report) {
    let window = |ms: i64| {
        chrono::DateTime::from_timestamp_millis(ms)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    println!(
        "{name:<28} {:<18} drift share {:.2} (threshold {:.2})  window {} .. {}  {} vs {} reference rows",
        band(report.band),
        report.drift_share,
        report.share_threshold,
        window(report.window_start_unix_ms),
        window(report.window_end_unix_ms),
        report.current_count,
        report.reference_count,
    );
}

fn print_columns(columns: &[ColumnReport]) {
    println!(
        "  {:<22} {:<14} {:>10} {:>9} {:>9}  band",
        "column", "method", "value", "warning", "drift"
    );
    for column in columns {
        let value = column.value.map_or("-".to_owned(), |v| format!("{v:.4}"));
        println!(
            "  {:<22} {:<14} {:>10} {:>9} {:>9}  {}",
            column.column,
            column.method,
            value,
            column.warning_threshold,
            column.drift_threshold,
            band(column.band)
        );
    }
}
