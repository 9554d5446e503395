"""Feast's side of `scripts/bench-lookup`: a feature repo holding the same user features as ours.

Run by the bench with the interpreter of the `feast` virtual environment
(scripts/requirements/feast.txt):

    feast_server.py setup --repo DIR --csv FILE --redis HOST:PORT,db=N --project NAME
    feast_server.py teardown --repo DIR

`setup` writes `feature_store.yaml` into DIR (online store Redis at the given connection string,
offline store `file`, provider `local`, registry a file in DIR), converts the CSV the bench wrote
(`user_id`, `event_timestamp` in UTC milliseconds, then one column per feature) to Parquet for a
FileSource, registers entity `user` and feature view `user_bench` (20 Float64 fields), and
materializes every row into Redis. It prints the Feast version on stdout. An empty CSV cell is a
value our store does not have (no contributing event); it stays empty (null) in Feast, not NaN,
so that Feast answers null where we answer "not found".

`teardown` deletes the repo's keys from Redis. The bench starts `feast serve` itself, in DIR.
"""

import argparse
import csv
import sys
from datetime import timedelta
from pathlib import Path

import feast
import pandas as pd
from feast import Entity, FeatureStore, FeatureView, Field, FileSource, ValueType
from feast.types import Float64

VIEW = "user_bench"


def main() -> None:
    args = parse_args()
    if args.command == "setup":
        setup(Path(args.repo).resolve(), Path(args.csv).resolve(), args.redis, args.project)
    else:
        FeatureStore(repo_path=args.repo).teardown()


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    setup_args = commands.add_parser("setup", help="create the repo and fill the online store")
    setup_args.add_argument("--repo", required=True, help="empty folder for the feature repo")
    setup_args.add_argument("--csv", required=True, help="the values read from our store")
    setup_args.add_argument("--redis", required=True, help="Feast connection string, HOST:PORT,db=N")
    setup_args.add_argument("--project", required=True, help="Feast project name (key namespace)")
    teardown_args = commands.add_parser("teardown", help="delete the repo's keys from Redis")
    teardown_args.add_argument("--repo", required=True)
    return parser.parse_args()


def setup(repo: Path, csv_file: Path, redis: str, project: str) -> None:
    features = feature_names(csv_file)
    frame = read_values(csv_file, features)
    parquet = repo / "user_bench.parquet"
    frame.to_parquet(parquet, index=False)
    write_config(repo, redis, project)

    store = FeatureStore(repo_path=str(repo))
    user = Entity(name="user", join_keys=["user_id"], value_type=ValueType.STRING)
    view = FeatureView(
        name=VIEW,
        entities=[user],
        # No expiry: every row carries the one request time the bench read our values at.
        ttl=timedelta(0),
        schema=[Field(name=name, dtype=Float64) for name in features],
        source=FileSource(path=str(parquet), timestamp_field="event_timestamp"),
        online=True,
    )
    store.apply([user, view])

    times = frame["event_timestamp"]
    store.materialize(
        start_date=times.min() - timedelta(seconds=1),
        end_date=times.max() + timedelta(seconds=1),
        feature_views=[VIEW],
    )
    print(f"feast {feast.__version__}")


def feature_names(csv_file: Path) -> list[str]:
    with csv_file.open(newline="") as f:
        header = next(csv.reader(f))
    if header[:2] != ["user_id", "event_timestamp"]:
        sys.exit(f"unexpected header in {csv_file}: {header[:2]}")
    return header[2:]


def read_values(csv_file: Path, features: list[str]) -> pd.DataFrame:
    # round_trip: the decimal text the bench wrote must come back as the very same double.
    frame = pd.read_csv(
        csv_file,
        dtype={"user_id": str, **{name: "float64" for name in features}},
        float_precision="round_trip",
    )
    frame["event_timestamp"] = pd.to_datetime(frame["event_timestamp"], unit="ms", utc=True)
    return frame


def write_config(repo: Path, redis: str, project: str) -> None:
    (repo / "feature_store.yaml").write_text(
        f"""project: {project}
provider: local
registry: {repo / "registry.db"}
online_store:
  type: redis
  connection_string: "{redis}"
offline_store:
  type: file
entity_key_serialization_version: 3
"""
    )


if __name__ == "__main__":
    main()
