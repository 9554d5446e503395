//! The load both servers get: the same number of concurrent clients, the same request count and
//! the same entity ids in the same order, so that their numbers compare.

use std::{sync::Arc, time::Instant};

use tokio::task::JoinSet;

/// Clients sending requests at once, each on its own connection, in the comparison runs.
pub const CONCURRENCY: usize = 8;

/// Requests per entity count, spread evenly over the clients.
pub const REQUESTS: usize = 2000;

/// One client connection to a feature server.
pub trait Lookup: Send + 'static {
    /// Looks up the 20 bench features of `ids` and returns how many entities the answer holds.
    fn lookup(&mut self, ids: &[String]) -> impl Future<Output = usize> + Send;
}

/// Throughput and client-side latency of one run.
#[derive(Debug, Clone, Copy)]
pub struct Stats {
    /// Requests answered per second, over all clients.
    pub rate: f64,
    /// Median request latency, milliseconds.
    pub p50: f64,
    /// 99th percentile request latency, milliseconds.
    pub p99: f64,
}

/// Runs [`REQUESTS`] lookups of `entities` ids each through `clients` (one task per client) and
/// measures them.
pub async fn measure<L: Lookup>(clients: Vec<L>, users: Arc<[String]>, entities: usize) -> Stats {
    let per_client = REQUESTS / clients.len();
    let started = Instant::now();
    // A JoinSet aborts its tasks when dropped, so an interrupted run leaves no client behind.
    let mut workers = JoinSet::new();
    for (worker, client) in clients.into_iter().enumerate() {
        workers.spawn(drive(client, users.clone(), worker, entities, per_client));
    }
    let mut latencies = Vec::with_capacity(REQUESTS);
    while let Some(worker) = workers.join_next().await {
        latencies.extend(worker.expect("worker"));
    }
    Stats::of(latencies, started.elapsed().as_secs_f64())
}

/// One client's share of the requests; their latencies in milliseconds.
async fn drive<L: Lookup>(
    mut client: L,
    users: Arc<[String]>,
    worker: usize,
    entities: usize,
    requests: usize,
) -> Vec<f64> {
    let mut latencies = Vec::with_capacity(requests);
    for i in 0..requests {
        let ids = window(&users, worker, i, entities);
        let sent = Instant::now();
        let answered = client.lookup(ids).await;
        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(
            answered, entities,
            "an answer must hold every entity asked for"
        );
    }
    latencies
}

/// The ids of request `i` of `worker`: a run of consecutive users starting at a spot that
/// differs between workers and requests.
fn window(users: &[String], worker: usize, i: usize, entities: usize) -> &[String] {
    let start = (worker * 7919 + i * entities) % (users.len() - entities);
    &users[start..start + entities]
}

impl Stats {
    fn of(mut latencies: Vec<f64>, seconds: f64) -> Stats {
        latencies.sort_by(f64::total_cmp);
        let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
        Stats {
            rate: latencies.len() as f64 / seconds,
            p50: at(0.5),
            p99: at(0.99),
        }
    }
}
