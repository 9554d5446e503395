//! Simulated listening for the music-therapy app, and a client that sends it to ingestion.
//!
//! [`Simulator`] turns a [`lucid_catalog::Catalog`] and a [`SimConfig`] into listening sessions
//! as [`lucid_events::EventInput`]s, the JSON a phone posts to `POST /v1/events`. Output is
//! deterministic for a seed, including event and session ids. The behaviour model, its
//! parameters and formulas are described in `docs/simulator.md`; the constants live next to the
//! code that uses them ([`population`], [`picker`], [`session`], [`profile`], [`mood`]).
//!
//! [`send_http`] posts events in batches, resending only those ingestion marks retryable;
//! [`write_json_lines`] writes them one JSON object per line.

pub mod mood;
pub mod picker;
pub mod population;
pub mod profile;
pub mod session;

mod config;
mod draw;
mod output;
mod scenario;
mod send;
mod simulator;
mod summary;

pub use config::{SimConfig, SimError};
pub use mood::Mood;
pub use output::write_json_lines;
pub use population::Listener;
pub use scenario::{Scenario, UnknownScenario};
pub use send::{SendError, SendOptions, send_http};
pub use simulator::{COHORT_SIZE_FACTOR, NIGHT_AROUSAL_FACTOR, Simulator, simulate};
pub use summary::SendSummary;
