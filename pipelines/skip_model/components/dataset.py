"""Step 1: the point-in-time training set, built by the feature store's ``backfill`` binary."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Output

from ..packages import BASE_IMAGE, pinned


@dsl.component(base_image=BASE_IMAGE, packages_to_install=pinned("pyarrow"))
def build_training_set(
    offline_dir: str,
    backfill_bin: str,
    features_file: str,
    training_set: Output[Dataset],
) -> NamedTuple("TrainingSet", [("sha256", str), ("rows", int), ("backfill_sha256", str)]):
    """Runs ``backfill`` over the offline log at ``offline_dir`` and keeps its Parquet file.

    ``backfill`` replays the log through the feature store's own aggregation code and writes
    one row per on-time play with the features as of just before it and the label "this play
    ended in a skip" (docs/feature-store.md). ``features_file`` names other feature definitions
    (empty: the starter set, whose ``skip_model`` service gives the features). Returns the
    file's SHA-256 (the lineage of the model), its row count and the binary's SHA-256.
    """
    import hashlib
    import os
    import shutil
    import subprocess
    import sys
    from collections import namedtuple

    import pyarrow.parquet as pq

    def sha256(path):
        digest = hashlib.sha256()
        with open(path, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        return digest.hexdigest()

    binary = shutil.which(backfill_bin) or backfill_bin
    if not os.access(binary, os.X_OK):
        raise FileNotFoundError(
            f"backfill binary not found at {backfill_bin!r}; build it with "
            "`cargo build --release -p lucid-offline --bin backfill`"
        )
    if not os.path.isdir(offline_dir):
        raise FileNotFoundError(f"offline log folder {offline_dir!r} does not exist")

    # backfill writes a hidden temporary file beside the output and renames it.
    os.makedirs(os.path.dirname(training_set.path), exist_ok=True)
    command = [binary, "--offline-dir", offline_dir, "--out", training_set.path]
    if features_file:
        command += ["--features-file", features_file]
    done = subprocess.run(command, capture_output=True, text=True)
    sys.stderr.write(done.stderr)
    if done.returncode != 0:
        raise RuntimeError(f"backfill exited with {done.returncode}: {done.stderr.strip()}")
    print(done.stdout.strip(), file=sys.stderr)

    rows = pq.ParquetFile(training_set.path).metadata.num_rows
    if rows == 0:
        raise ValueError(f"the offline log at {offline_dir!r} gave no training rows")
    digest = sha256(training_set.path)
    training_set.metadata["sha256"] = digest
    training_set.metadata["rows"] = rows
    Out = namedtuple("TrainingSet", ["sha256", "rows", "backfill_sha256"])
    return Out(digest, rows, sha256(binary))
