//! What every service process starts with: structured logs, a Prometheus recorder, and one
//! cancellation tree driven by SIGTERM / SIGINT.

mod logs;
mod metrics;
mod service;
mod shutdown;

pub use logs::{LogFormat, init_logs};
pub use metrics::{SECONDS_BUCKETS, prometheus};
pub use service::{Listeners, Service, run_main, wait_all};
pub use shutdown::shutdown_on_signals;
