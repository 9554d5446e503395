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
export LUCID_MLFLOW_PORT="${LUCID_MLFLOW_PORT:-15000}"
# Ray's head: GCS port and dashboard (Jobs REST API) port.
export LUCID_RAY_PORT="${LUCID_RAY_PORT:-16380}"
export LUCID_RAY_DASHBOARD_PORT="${LUCID_RAY_DASHBOARD_PORT:-18265}"

export LUCID_KAFKA_BROKERS="${LUCID_KAFKA_BROKERS:-127.0.0.1:$LUCID_KAFKA_PORT}"
export LUCID_REDIS_URL="${LUCID_REDIS_URL:-redis://127.0.0.1:$LUCID_REDIS_PORT}"
export LUCID_MLFLOW_URL="${LUCID_MLFLOW_URL:-http://127.0.0.1:$LUCID_MLFLOW_PORT}"
export LUCID_RAY_URL="${LUCID_RAY_URL:-http://127.0.0.1:$LUCID_RAY_DASHBOARD_PORT}"

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

# Fetches the track catalog into $LUCID_CATALOG_DIR unless both of its files are there; the
# download is checked against pinned checksums (scripts/fetch-data).
ensure_catalog() {
  local file
  for file in echonest-metrics.json fma-rock-vs-hiphop.csv; do
    [ -f "$LUCID_CATALOG_DIR/$file" ] && continue
    say "track catalog not found in $LUCID_CATALOG_DIR: downloading it (scripts/fetch-data)"
    "$LUCID_ROOT/scripts/fetch-data" "$LUCID_CATALOG_DIR" ||
      die "could not fetch the track catalog; set LUCID_CATALOG_DIR to a folder that holds it, or FETCH_DATA_BASE_URL to a mirror"
    return
  done
}

# The one release build of the scripts. Every script builds the same package set, because
# cargo unifies dependency features per build: two different sets would each rebuild the
# other's dependencies. Debug builds (scripts/test) have their own profile and are not touched.
build_release() {
  cargo build --release --locked --workspace --bins
}

# The services as scripts/demo runs them: release, or the debug build with LUCID_PROFILE=debug
# (the main-job test, which reuses what `cargo test` compiled). Their folder is
# $CARGO_TARGET_DIR/$LUCID_PROFILE.
export LUCID_PROFILE="${LUCID_PROFILE:-release}"
build_services() {
  case "$LUCID_PROFILE" in
    release) build_release ;;
    debug) cargo build --locked --workspace --bins ;;
    *) die "LUCID_PROFILE must be release or debug, not $LUCID_PROFILE" ;;
  esac
}

# Makes (once) a Python virtual environment in the cache for one pinned requirements file,
# scripts/requirements/<name>.txt, and prints its folder. It is rebuilt only when that file
# changes, so a second run costs a checksum.
ensure_venv() {
  local name="$1"
  local requirements="$LUCID_ROOT/scripts/requirements/$name.txt"
  local venv="$LUCID_CACHE/venvs/$name"
  local want have=""
  [ -f "$requirements" ] || die "no requirements file $requirements"
  want="$(sha256sum "$requirements" | cut -d' ' -f1)"
  [ -f "$venv/.lucid-requirements" ] && have="$(cat "$venv/.lucid-requirements")"
  if [ "$want" != "$have" ]; then
    say "installing the Python environment '$name' into $venv (once)"
    rm -rf "$venv"
    python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
    "$venv/bin/pip" install --quiet --disable-pip-version-check -r "$requirements" ||
      die "pip could not install $requirements"
    echo "$want" >"$venv/.lucid-requirements"
  fi
  echo "$venv"
}
