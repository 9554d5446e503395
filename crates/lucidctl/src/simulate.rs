//! `lucidctl simulate`: generate listening sessions and send or write them.
//!
//! The events are generated in full before any is sent, so a run is reproducible from its
//! seed and config whatever happens on the network. When sending, every event is first checked
//! with ingestion's own validation rules as of now, so a span that ingestion would refuse
//! fails here before the first request.

use std::fs::File;
use std::io::{ErrorKind, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, bail};
use chrono::{DateTime, TimeDelta, Utc};
use lucid_catalog::{Catalog, Genre};
use lucid_events::{EventInput, Limits, validate};
use lucid_simulator::{
    Scenario, SendOptions, SendSummary, SimConfig, Simulator, send_http, write_json_lines,
};

use crate::predict::{Predictions, Predictor};
use crate::span;

/// Options of `lucidctl simulate`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Folder holding echonest-metrics.json and fma-rock-vs-hiphop.csv (see scripts/fetch-data).
    #[arg(long, env = "LUCID_CATALOG_DIR", value_name = "DIR")]
    catalog_dir: PathBuf,

    /// Scenario: baseline, hiphop_cohort, night_shift or seconds_bug.
    #[arg(long, default_value = "baseline", value_name = "NAME")]
    scenario: Scenario,

    /// Seed of every random draw. The same seed, options and --start give the same events;
    /// without --start the span ends now, so event times move with the clock (ids do not).
    #[arg(long, default_value_t = 42, value_name = "N")]
    seed: u64,

    /// Size of the base listener population.
    #[arg(long, default_value_t = SimConfig::DEFAULT_LISTENERS, value_name = "N")]
    listeners: usize,

    /// Number of sessions to generate.
    #[arg(long, default_value_t = SimConfig::DEFAULT_SESSIONS, value_name = "N")]
    sessions: usize,

    /// Length of the simulated span, for example 90m, 24h or 6d.
    #[arg(long, default_value = "24h", value_parser = span::parse)]
    span: TimeDelta,

    /// Start of the span (RFC 3339), which makes a run repeatable; by default the span ends now.
    #[arg(long, value_name = "RFC3339")]
    start: Option<DateTime<Utc>>,

    /// Keep only the events at or after this time (RFC 3339): the whole span is simulated, so
    /// the second half of a scenario can follow a reference period sent earlier.
    #[arg(long, value_name = "RFC3339")]
    from: Option<DateTime<Utc>>,

    #[command(flatten)]
    target: Target,

    /// API key for ingestion.
    #[arg(
        long,
        env = "LUCID_API_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    api_key: Option<String>,

    /// Events per second to send at; unlimited by default.
    #[arg(long, requires = "url", value_name = "EVENTS_PER_SEC")]
    rate: Option<f64>,

    /// Events per request, 1-500.
    #[arg(long, default_value_t = 100, requires = "url", value_name = "N")]
    batch_size: usize,

    /// Requests in flight at once.
    #[arg(long, default_value_t = 4, requires = "url", value_name = "N")]
    concurrency: usize,

    /// Base URL of the model gateway: every play is first predicted there, as of its own time,
    /// for the listener's pseudonym (see --pseudonym-key), its session and track.
    #[arg(long, requires = "url", value_name = "URL")]
    predict: Option<String>,

    /// Model the predictions are asked of.
    #[arg(
        long,
        default_value = "skip-model",
        requires = "predict",
        value_name = "NAME"
    )]
    model: String,

    /// Ingestion's pseudonymisation key (its `pseudonym_key`), so the gateway sees listeners as
    /// ingestion names them in events; needed with --predict.
    #[arg(
        long,
        env = "LUCID_PSEUDONYM_KEY",
        hide_env_values = true,
        value_name = "KEY"
    )]
    pseudonym_key: Option<String>,
}

/// Where the events go: exactly one of the two.
#[derive(Debug, clap::Args)]
#[group(required = true, multiple = false)]
struct Target {
    /// Base URL of ingestion; events are posted to URL/v1/events.
    #[arg(long, requires = "api_key", value_name = "URL")]
    url: Option<String>,

    /// Write JSON lines to FILE, or to standard output with `-`.
    #[arg(long, value_name = "FILE")]
    out: Option<PathBuf>,
}

/// Runs the subcommand.
pub async fn run(args: Args) -> anyhow::Result<()> {
    let catalog = Catalog::load(&args.catalog_dir).with_context(|| {
        format!(
            "failed to load the catalog from {}",
            args.catalog_dir.display()
        )
    })?;
    let config = sim_config(&args);

    let started = Instant::now();
    let sim = Simulator::new(&catalog, config).context("failed to set up the simulation")?;
    let mut events = sim.events();
    if let Some(from) = args.from {
        events.retain(|e| e.event_time >= from);
    }
    let report = report(&catalog, sim.config(), &events, started);

    match (&args.target.url, &args.target.out) {
        (Some(url), _) => send(&args, url, &events, &report).await,
        (None, Some(path)) if path == Path::new("-") => {
            match write_json_lines(&events, std::io::stdout().lock()) {
                Ok(_) => eprintln!("{report}"),
                // The reader went away (`| head`); that ends the output, as for other tools.
                Err(error) if error.kind() == ErrorKind::BrokenPipe => {}
                Err(error) => {
                    return Err(error).context("failed to write events to standard output");
                }
            }
            Ok(())
        }
        (None, Some(path)) => {
            let file = File::create(path)
                .with_context(|| format!("failed to create {}", path.display()))?;
            write_json_lines(&events, file)
                .with_context(|| format!("failed to write events to {}", path.display()))?;
            println!("{report}\nwritten to:  {}", path.display());
            Ok(())
        }
        (None, None) => bail!("give --url or --out"),
    }
}

fn sim_config(args: &Args) -> SimConfig {
    let start = args.start.unwrap_or_else(|| Utc::now() - args.span);
    SimConfig {
        scenario: args.scenario,
        seed: args.seed,
        listeners: args.listeners,
        sessions: args.sessions,
        start,
        span: args.span,
    }
}

async fn send(args: &Args, url: &str, events: &[EventInput], report: &str) -> anyhow::Result<()> {
    check_sendable(events)?;
    let api_key = args
        .api_key
        .clone()
        .context("--url needs --api-key or LUCID_API_KEY")?;
    answers("ingestion", url, "/healthz").await?;
    if let Some(gateway) = &args.predict {
        answers("the model gateway", gateway, "/v2/health/live").await?;
    }
    let options = SendOptions {
        rate: args.rate,
        batch_size: args.batch_size,
        concurrency: args.concurrency,
        progress: std::io::stderr().is_terminal(),
        ..SendOptions::new(url, api_key)
    };

    println!("{report}");
    let summary = match &args.predict {
        None => send_http(events, &options)
            .await
            .context("failed to send events")?,
        Some(gateway) => {
            let key = args.pseudonym_key.as_deref().context(
                "--predict needs ingestion's pseudonymisation key: --pseudonym-key or \
                     LUCID_PSEUDONYM_KEY (scripts/demo writes it to the run's env file)",
            )?;
            let predictor = Predictor::new(gateway, &args.model, key)?;
            let (summary, predictions) = send_predicted(events, &options, &predictor).await?;
            println!("{predictions}");
            if predictions.failed_total() > 0 {
                bail!(
                    "{} plays got no prediction; see failed above",
                    predictions.failed_total()
                );
            }
            summary
        }
    };
    println!("{summary}");
    std::io::stdout()
        .flush()
        .context("failed to write the summary")?;
    check_delivered(&summary)
}

/// Sends `events` in time order, a slice at a time, predicting each slice's plays before the
/// slice goes out, so a play is predicted before its skip or completion is seen.
async fn send_predicted(
    events: &[EventInput],
    options: &SendOptions,
    predictor: &Predictor,
) -> anyhow::Result<(SendSummary, Predictions)> {
    let slice = options.batch_size * options.concurrency;
    let quiet = SendOptions {
        progress: false,
        ..options.clone()
    };
    let started = std::time::Instant::now();
    let mut summary = SendSummary::default();
    let mut predictions = Predictions::default();
    for events in events.chunks(slice) {
        predictor.predict_plays(events, &mut predictions).await;
        let sent = send_http(events, &quiet)
            .await
            .context("failed to send events")?;
        summary.sent += sent.sent;
        summary.merge(sent);
    }
    // Predicting is part of sending here: the rate is over both.
    summary.elapsed = started.elapsed();
    Ok((summary, predictions))
}

/// Fails at once, naming the service, when it does not answer at `url`: the sender would
/// otherwise retry for a minute before saying so.
async fn answers(service: &str, url: &str, path: &str) -> anyhow::Result<()> {
    let probe = format!("{}{path}", url.trim_end_matches('/'));
    let client = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(5))
        .build()
        .context("failed to build the HTTP client")?;
    match client.get(&probe).send().await {
        Ok(answer) if answer.status().is_success() => Ok(()),
        Ok(answer) => bail!(
            "{service} at {url} is not healthy: {probe} answered {}",
            answer.status()
        ),
        Err(error) => bail!(
            "{service} does not answer at {url} ({error}); start it (scripts/demo starts \
             one, and writes how to reach it to the run's env file)"
        ),
    }
}

/// Refuses to send when ingestion would refuse events as of now (too old, in the future).
fn check_sendable(events: &[EventInput]) -> anyhow::Result<()> {
    let now = Utc::now();
    let limits = Limits::default();
    let mut refused = events
        .iter()
        .filter_map(|event| validate(event, &limits, now).err());
    let Some(first) = refused.next() else {
        return Ok(());
    };
    bail!(
        "{} of {} events would be refused by ingestion now, the first with {first}; \
         let the span end now (no --start) and keep it under 7 days",
        refused.count() + 1,
        events.len()
    )
}

fn check_delivered(summary: &SendSummary) -> anyhow::Result<()> {
    if summary.unsent_total() > 0 {
        bail!(
            "{} events were not delivered; see unsent above",
            summary.unsent_total()
        );
    }
    if summary.rejected_total() > 0 {
        bail!(
            "ingestion rejected {} events; see rejected above",
            summary.rejected_total()
        );
    }
    Ok(())
}

/// What was generated, printed before sending or after writing.
fn report(
    catalog: &Catalog,
    config: &SimConfig,
    events: &[EventInput],
    started: Instant,
) -> String {
    format!(
        "catalog:     {} tracks, {} with FMA metadata ({} rock, {} hip-hop)\n\
         scenario:    {} (seed {}): {}\n\
         span:        {} to {} (change point {})\n\
         generated:   {} events in {} sessions by {} base listeners in {:.1}s",
        catalog.len(),
        catalog.stats().matched,
        catalog.genre_count(Genre::Rock),
        catalog.genre_count(Genre::HipHop),
        config.scenario,
        config.seed,
        config.scenario.description(),
        config.start.to_rfc3339(),
        config.end().to_rfc3339(),
        config.change_at().to_rfc3339(),
        events.len(),
        config.sessions,
        config.listeners,
        started.elapsed().as_secs_f64(),
    )
}

#[cfg(test)]
mod tests {
    use clap::Parser;
    use lucid_catalog::{FEATURES_FILE, METADATA_FILE};

    use super::*;

    #[derive(Debug, Parser)]
    struct Command {
        #[command(flatten)]
        args: Args,
    }

    const FEATURES: &str = r#"{
        "track_id": {"0": 2, "1": 3, "2": 5},
        "acousticness": {"0": 0.4, "1": 0.3, "2": 0.2},
        "danceability": {"0": 0.6, "1": 0.5, "2": 0.4},
        "energy": {"0": 0.2, "1": 0.5, "2": 0.9},
        "instrumentalness": {"0": 0.1, "1": 0.2, "2": 0.3},
        "liveness": {"0": 0.15, "1": 0.25, "2": 0.35},
        "speechiness": {"0": 0.3, "1": 0.2, "2": 0.1},
        "tempo": {"0": 165.9, "1": 126.9, "2": 100.3},
        "valence": {"0": 0.3, "1": 0.5, "2": 0.7}
    }"#;

    const METADATA: &str =
        "track_id,duration,genre_top,listens\n2,168,Hip-Hop,1293\n5,206,Rock,1151\n";

    #[tokio::test]
    async fn writes_events_that_ingestion_accepts_to_a_file() {
        let dir = std::env::temp_dir().join(format!("lucidctl-simulate-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch folder");
        std::fs::write(dir.join(FEATURES_FILE), FEATURES).expect("write features");
        std::fs::write(dir.join(METADATA_FILE), METADATA).expect("write metadata");
        let out = dir.join("events.jsonl");

        let dir_arg = dir.to_str().expect("utf-8 path");
        let out_arg = out.to_str().expect("utf-8 path");
        let command = Command::try_parse_from([
            "simulate",
            "--catalog-dir",
            dir_arg,
            "--scenario",
            "seconds_bug",
            "--sessions",
            "30",
            "--listeners",
            "4",
            "--span",
            "2h",
            "--out",
            out_arg,
        ])
        .expect("valid arguments");
        run(command.args).await.expect("runs");

        let text = std::fs::read_to_string(&out).expect("output written");
        std::fs::remove_dir_all(&dir).expect("clean up");

        let events: Vec<EventInput> = text
            .lines()
            .map(|line| serde_json::from_str(line).expect("event json"))
            .collect();
        assert!(events.len() >= 30 * 5, "{} events", events.len());
        check_sendable(&events).expect("ingestion would accept every event now");
        let sessions: std::collections::HashSet<&str> =
            events.iter().map(|e| e.session_id.as_str()).collect();
        assert_eq!(sessions.len(), 30);
    }

    #[test]
    fn events_outside_the_window_are_refused_before_sending() {
        let mut event: EventInput = serde_json::from_str(
            r#"{"event_id":"e-1","user_id":"user-000001","session_id":"s-1",
                "event_time":"2020-01-01T00:00:00Z","action":"session_start",
                "context":"playlist","platform":"ios","app_version":"4.12.0"}"#,
        )
        .expect("event json");
        let error = check_sendable(std::slice::from_ref(&event)).expect_err("too old");
        assert!(
            error
                .to_string()
                .starts_with("1 of 1 events would be refused"),
            "{error}"
        );

        event.event_time = Utc::now();
        assert!(check_sendable(&[event]).is_ok());
    }
}
