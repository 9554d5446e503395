# Shared settings for the scripts: where tools are cached, where state lives, which ports.
# Sourced, not run. Every value can be overridden from the environment.

LUCID_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export LUCID_ROOT

# Tools and build output outside the clone, so a fresh clone (CI) reuses them.
export LUCID_CACHE="${LUCID_CACHE:-$HOME/.cache/lucid}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$LUCID_CACHE/target}"
export LUCID_TANSU_BIN="${LUCID_TANSU_BIN:-$LUCID_CACHE/tools/bin/tansu}"
export LUCID_TANSU_VERSION="${LUCID_TANSU_VERSION:-0.6.0}"

# Running state of the local stack (pids, logs, data), git-ignored, per clone.
export LUCID_STATE="${LUCID_STATE:-$LUCID_ROOT/.lucid}"

# Ports on 127.0.0.1.
export LUCID_KAFKA_PORT="${LUCID_KAFKA_PORT:-19092}"
export LUCID_REDIS_PORT="${LUCID_REDIS_PORT:-16379}"
export LUCID_PARTITIONS="${LUCID_PARTITIONS:-3}"

export LUCID_KAFKA_BROKERS="${LUCID_KAFKA_BROKERS:-127.0.0.1:$LUCID_KAFKA_PORT}"
export LUCID_REDIS_URL="${LUCID_REDIS_URL:-redis://127.0.0.1:$LUCID_REDIS_PORT}"

# The real track catalog: the shared copy when this checkout sits beside it, else the folder
# that scripts/fetch-data fills.
if [ -z "${LUCID_CATALOG_DIR:-}" ]; then
  if [ -f "$LUCID_ROOT/../shared/data/fma-echonest-features/echonest-metrics.json" ]; then
    LUCID_CATALOG_DIR="$(cd "$LUCID_ROOT/../shared/data/fma-echonest-features" && pwd)"
  else
    LUCID_CATALOG_DIR="$LUCID_ROOT/data/fma-echonest-features"
  fi
fi
export LUCID_CATALOG_DIR

say() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }
