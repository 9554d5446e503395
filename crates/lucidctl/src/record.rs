//! `lucidctl record`: samples the drift detector and the feature store into a JSON lines file.
//!
//! One line per tick: every monitor's latest drift report (gRPC `ListMonitors`) and the feature
//! store's applied-events counter and freshness histogram (Prometheus text at `/metrics`). A
//! service that does not answer is written as `null` for that tick and asked again at the next;
//! `lucidctl report` turns the file into charts.

use std::{
    fs::File,
    io::Write,
    path::PathBuf,
    time::{Duration, SystemTime, UNIX_EPOCH},
};

use anyhow::Context;
use lucid_proto::drift::v1::{
    Band, ListMonitorsRequest, MonitorInfo, drift_service_client::DriftServiceClient,
};
use serde::{Deserialize, Serialize};
use tokio::{
    signal::unix::{SignalKind, signal},
    time::MissedTickBehavior,
};
use tonic::transport::Channel;

use crate::span;

/// The feature store's counter of applied events.
pub const EVENTS_APPLIED: &str = "lucid_feature_store_events_applied_total";
/// The feature store's freshness histogram (ingest time to Redis write).
pub const FRESHNESS: &str = "lucid_feature_store_freshness_seconds";

/// Options of `lucidctl record`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The drift detector's gRPC address.
    #[arg(
        long,
        env = "LUCID_DRIFT_DETECTOR_URL",
        default_value = "http://127.0.0.1:8095"
    )]
    drift: String,

    /// The feature store's HTTP base address (its Prometheus text is at /metrics).
    #[arg(
        long,
        value_name = "URL",
        env = "LUCID_FEATURE_STORE_HTTP",
        default_value = "http://127.0.0.1:8090"
    )]
    feature_store: String,

    /// The JSON lines file to append the samples to.
    #[arg(long, value_name = "FILE")]
    out: PathBuf,

    /// Time between samples, like 2s or 1m.
    #[arg(long, default_value = "2s", value_parser = parse_interval)]
    interval: Duration,
}

/// One line of the samples file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    /// Wall-clock time of the sample, UTC milliseconds since the Unix epoch.
    pub time_ms: i64,
    /// Every monitor that has a report; `None` when the drift detector did not answer.
    pub monitors: Option<Vec<MonitorSample>>,
    /// `None` when the feature store did not answer.
    pub feature_store: Option<FeatureStoreSample>,
}

/// A monitor's latest report, as sampled.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MonitorSample {
    pub monitor: String,
    pub band: String,
    pub drift_share: f64,
    pub share_threshold: f64,
    pub current_count: i64,
    pub window_start_ms: i64,
    pub window_end_ms: i64,
    /// Wall-clock time of the check that produced the report.
    pub checked_ms: i64,
    pub columns: Vec<ColumnSample>,
}

/// One column of a monitor's report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ColumnSample {
    pub column: String,
    pub method: String,
    /// The number compared with the thresholds; `None` with too little data.
    pub value: Option<f64>,
    pub warning_threshold: f64,
    pub drift_threshold: f64,
    pub band: String,
}

/// The feature store's counters, summed over label sets.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct FeatureStoreSample {
    pub events_applied: f64,
    pub freshness_sum: f64,
    pub freshness_count: f64,
}

/// Samples until SIGTERM or ctrl-c, then flushes and returns.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let mut out = File::options()
        .create(true)
        .append(true)
        .open(&args.out)
        .with_context(|| format!("failed to open {}", args.out.display()))?;
    let mut sources = Sources::new(&args)?;
    let mut terminate = signal(SignalKind::terminate()).context("failed to watch SIGTERM")?;
    let mut ticks = tokio::time::interval(args.interval);
    ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);

    loop {
        tokio::select! {
            _ = ticks.tick() => sources.sample_into(&mut out).await?,
            _ = terminate.recv() => break,
            _ = tokio::signal::ctrl_c() => break,
        }
    }
    out.flush()
        .with_context(|| format!("failed to flush {}", args.out.display()))
}

/// The two services sampled, and whether each answered last time (one warning per outage).
struct Sources {
    drift: DriftSource,
    drift_up: bool,
    metrics: MetricsSource,
    feature_store_up: bool,
}

impl Sources {
    fn new(args: &Args) -> anyhow::Result<Self> {
        // A sample must not take longer than the interval, or the ticks pile up behind it.
        let timeout = args
            .interval
            .clamp(Duration::from_millis(200), Duration::from_secs(5));
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .build()
            .context("failed to build an http client")?;
        Ok(Sources {
            drift: DriftSource {
                url: args.drift.clone(),
                client: None,
                timeout,
            },
            drift_up: true,
            metrics: MetricsSource {
                url: format!("{}/metrics", args.feature_store.trim_end_matches('/')),
                http,
            },
            feature_store_up: true,
        })
    }

    async fn sample_into(&mut self, out: &mut File) -> anyhow::Result<()> {
        let (monitors, feature_store) = tokio::join!(self.drift.monitors(), self.metrics.sample());
        let sample = Sample {
            time_ms: now_ms(),
            monitors: note_outage(&mut self.drift_up, &self.drift.url, monitors),
            feature_store: note_outage(
                &mut self.feature_store_up,
                &self.metrics.url,
                feature_store,
            ),
        };
        let mut line = serde_json::to_vec(&sample).context("failed to encode a sample")?;
        line.push(b'\n');
        out.write_all(&line).context("failed to write a sample")
    }
}

/// The drift detector; the channel is kept while it answers and made again after a failure.
struct DriftSource {
    url: String,
    client: Option<DriftServiceClient<Channel>>,
    timeout: Duration,
}

impl DriftSource {
    async fn monitors(&mut self) -> anyhow::Result<Vec<MonitorSample>> {
        let mut client = match self.client.take() {
            Some(client) => client,
            None => {
                let connect = DriftServiceClient::connect(self.url.clone());
                tokio::time::timeout(self.timeout, connect).await??
            }
        };
        let call = client.list_monitors(ListMonitorsRequest {});
        let answer = tokio::time::timeout(self.timeout, call)
            .await??
            .into_inner();
        self.client = Some(client);
        Ok(answer.monitors.iter().filter_map(monitor_sample).collect())
    }
}

/// The feature store's Prometheus endpoint.
struct MetricsSource {
    url: String,
    http: reqwest::Client,
}

impl MetricsSource {
    async fn sample(&self) -> anyhow::Result<FeatureStoreSample> {
        let response = self.http.get(&self.url).send().await?;
        let text = response.error_for_status()?.text().await?;
        Ok(feature_store_sample(&text))
    }
}

/// Keeps the value of a sample, or warns (once per outage) and records it as missing.
fn note_outage<T>(up: &mut bool, url: &str, result: anyhow::Result<T>) -> Option<T> {
    match result {
        Ok(value) => {
            if !*up {
                tracing::warn!(url, "service answers again");
            }
            *up = true;
            Some(value)
        }
        Err(error) => {
            if *up {
                let error = format!("{error:#}");
                tracing::warn!(
                    url,
                    error,
                    "service does not answer; recorded as missing meanwhile"
                );
            }
            *up = false;
            None
        }
    }
}

fn monitor_sample(info: &MonitorInfo) -> Option<MonitorSample> {
    let report = info.latest.as_ref()?;
    let columns = report
        .columns
        .iter()
        .map(|c| ColumnSample {
            column: c.column.clone(),
            method: c.method.clone(),
            value: c.value,
            warning_threshold: c.warning_threshold,
            drift_threshold: c.drift_threshold,
            band: band_name(c.band),
        })
        .collect();
    Some(MonitorSample {
        monitor: info.name.clone(),
        band: band_name(report.band),
        drift_share: report.drift_share,
        share_threshold: report.share_threshold,
        current_count: report.current_count,
        window_start_ms: report.window_start_unix_ms,
        window_end_ms: report.window_end_unix_ms,
        checked_ms: report.checked_unix_ms,
        columns,
    })
}

fn band_name(value: i32) -> String {
    let band = Band::try_from(value).unwrap_or(Band::Unspecified);
    band.as_str_name().trim_start_matches("BAND_").to_owned()
}

/// The feature store's sample from its Prometheus text; a series not yet exported counts as 0.
pub fn feature_store_sample(text: &str) -> FeatureStoreSample {
    FeatureStoreSample {
        events_applied: metric_sum(text, EVENTS_APPLIED),
        freshness_sum: metric_sum(text, &format!("{FRESHNESS}_sum")),
        freshness_count: metric_sum(text, &format!("{FRESHNESS}_count")),
    }
}

/// The sum of every sample of metric `name` over its label sets, in the Prometheus text format.
pub fn metric_sum(text: &str, name: &str) -> f64 {
    text.lines()
        .map(str::trim)
        .filter(|line| !line.starts_with('#'))
        .filter_map(|line| {
            let rest = line.strip_prefix(name)?;
            let rest = match rest.chars().next()? {
                '{' => &rest[rest.rfind('}')? + 1..],
                ' ' | '\t' => rest,
                _ => return None, // a longer name sharing the prefix
            };
            rest.split_whitespace().next()?.parse::<f64>().ok()
        })
        .sum()
}

fn parse_interval(text: &str) -> Result<Duration, String> {
    let interval = span::parse(text)?
        .to_std()
        .map_err(|_| format!("invalid interval {text:?}"))?;
    if interval.is_zero() {
        return Err("the interval must be longer than 0s".to_owned());
    }
    Ok(interval)
}

fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const METRICS: &str = "\
# HELP lucid_feature_store_events_applied_total Events applied to the online store.
# TYPE lucid_feature_store_events_applied_total counter
lucid_feature_store_events_applied_total{partition=\"0\"} 1200
lucid_feature_store_events_applied_total{partition=\"1\"} 800
lucid_feature_store_events_applied_total_extra 5
# TYPE lucid_feature_store_freshness_seconds summary
lucid_feature_store_freshness_seconds{quantile=\"0.5\"} 0.05
lucid_feature_store_freshness_seconds_sum 150.5
lucid_feature_store_freshness_seconds_count 2000
";

    #[test]
    fn sums_a_metric_over_its_label_sets_only() {
        assert_eq!(metric_sum(METRICS, EVENTS_APPLIED), 2000.0);
        assert_eq!(
            metric_sum(METRICS, "lucid_feature_store_late_events_total"),
            0.0
        );
        assert_eq!(
            feature_store_sample(METRICS),
            FeatureStoreSample {
                events_applied: 2000.0,
                freshness_sum: 150.5,
                freshness_count: 2000.0,
            }
        );
    }

    #[test]
    fn reads_labels_with_braces_and_a_timestamp() {
        let text = "m{path=\"/a{b}\",code=\"200\"} 3 1700000000000\nm 4\n";
        assert_eq!(metric_sum(text, "m"), 7.0);
    }

    #[test]
    fn samples_monitors_with_a_report_by_band_name() {
        use lucid_proto::drift::v1::{ColumnReport, Report};

        let column = ColumnReport {
            column: "listened_ms".into(),
            method: "wasserstein".into(),
            value: Some(0.25),
            warning_threshold: 0.1,
            drift_threshold: 0.2,
            band: Band::Drift as i32,
            ..Default::default()
        };
        let report = Report {
            band: Band::Warning as i32,
            drift_share: 0.5,
            share_threshold: 0.3,
            current_count: 480,
            window_start_unix_ms: 1_000,
            window_end_unix_ms: 61_000,
            checked_unix_ms: 62_000,
            columns: vec![column],
            ..Default::default()
        };
        let with_report = MonitorInfo {
            name: "listening-outcomes".into(),
            latest: Some(report),
            ..Default::default()
        };
        let waiting = MonitorInfo {
            name: "predictions".into(),
            ..Default::default()
        };

        assert_eq!(monitor_sample(&waiting), None);
        assert_eq!(
            monitor_sample(&with_report),
            Some(MonitorSample {
                monitor: "listening-outcomes".into(),
                band: "WARNING".into(),
                drift_share: 0.5,
                share_threshold: 0.3,
                current_count: 480,
                window_start_ms: 1_000,
                window_end_ms: 61_000,
                checked_ms: 62_000,
                columns: vec![ColumnSample {
                    column: "listened_ms".into(),
                    method: "wasserstein".into(),
                    value: Some(0.25),
                    warning_threshold: 0.1,
                    drift_threshold: 0.2,
                    band: "DRIFT".into(),
                }],
            })
        );
    }

    #[test]
    fn interval_is_a_span_above_zero() {
        assert_eq!(parse_interval("2s"), Ok(Duration::from_secs(2)));
        assert!(parse_interval("0s").is_err());
        assert!(parse_interval("soon").is_err());
    }
}
