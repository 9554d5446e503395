"""The Evidently side of the drift benchmark (scripts/bench-drift).

Draws a seeded reference and current data set (10 numeric and 5 categorical columns, some of
them shifted), writes them as raw files for the Rust side (`<side>_<column>.f64`, little-endian
f64; `<side>_<column>.u8`, category codes; `names_<column>.txt`, one category per line), then
times Evidently 0.7 on the same data and writes `evidently.json`:

- `count_seconds`: `Report([DriftedColumnsCount()])`, Evidently's drift computation over all
  columns, once each;
- `preset_seconds`: `Report([DataDriftPreset()])`, the data drift report as users run it (it
  computes each column's drift twice: for the count and for the per-column metric);
- `*_cpu_seconds`: the same in process CPU time, which a busy machine disturbs less.

Usage: evidently_drift.py OUTPUT_DIR ROWS
"""

import json
import sys
import time
import warnings
from pathlib import Path

import evidently
import numpy as np
import threadpoolctl
import pandas as pd
from evidently import DataDefinition, Dataset, Report
from evidently.metrics import DriftedColumnsCount
from evidently.presets import DataDriftPreset

NUMERIC = [f"n{i}" for i in range(10)]
CATEGORICAL = [f"c{i}" for i in range(5)]
CATEGORY_COUNTS = [4, 12, 30, 3, 60]
SHIFTED = {"n0", "n1", "n2", "c0", "c1"}


def draw(rng, rows, side):
    columns = {}
    for i, name in enumerate(NUMERIC):
        # Shifted columns move by half a standard deviation (by 1.0 for the rounded ones).
        shifted = side == "current" and name in SHIFTED
        if i % 3 == 2:
            shift = 1.0 if shifted else 0.0
            # Rounded values: many ties, as in counts and ratings.
            columns[name] = np.round(rng.gamma(2.0 + i, 1.5, rows) + shift, 1)
        else:
            shift = 0.5 * (1.0 + i) if shifted else 0.0
            columns[name] = rng.normal(10.0 * i + shift, 1.0 + i, rows)
    for name, count in zip(CATEGORICAL, CATEGORY_COUNTS):
        weights = np.arange(1, count + 1, dtype=float)
        if side == "current" and name in SHIFTED:
            weights = weights[::-1]
        columns[name] = rng.choice(count, size=rows, p=weights / weights.sum()).astype(np.uint8)
    return columns


def write_raw(out, side, columns):
    for name, values in columns.items():
        suffix = "f64" if name in NUMERIC else "u8"
        values.astype("<f8" if suffix == "f64" else np.uint8).tofile(out / f"{side}_{name}.{suffix}")


def frame(columns, names):
    data = {name: columns[name] for name in NUMERIC}
    for name in CATEGORICAL:
        data[name] = pd.Series(np.asarray(names[name], dtype=object)[columns[name]])
    return pd.DataFrame(data)


def timed(metrics, current, reference):
    """Wall-clock and CPU seconds of one report run, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    snapshot = Report(metrics).run(current, reference)
    return (time.perf_counter() - wall, time.process_time() - cpu), snapshot.dict()


def main():
    warnings.filterwarnings("ignore")
    out, rows = Path(sys.argv[1]), int(sys.argv[2])
    out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(20261204)
    names = {name: [f"{name}-value-{v}" for v in range(count)]
             for name, count in zip(CATEGORICAL, CATEGORY_COUNTS)}
    sides = {side: draw(rng, rows, side) for side in ("reference", "current")}
    for side, columns in sides.items():
        write_raw(out, side, columns)
    for name in CATEGORICAL:
        (out / f"names_{name}.txt").write_text("\n".join(names[name]) + "\n")

    definition = DataDefinition(numerical_columns=NUMERIC, categorical_columns=CATEGORICAL)
    reference = Dataset.from_pandas(frame(sides["reference"], names), data_definition=definition)
    current = Dataset.from_pandas(frame(sides["current"], names), data_definition=definition)

    count_seconds, count = timed([DriftedColumnsCount()], current, reference)
    preset_seconds, preset = timed([DataDriftPreset()], current, reference)
    per_column = {}
    for metric in preset["metrics"]:
        config = metric["config"]
        if config["type"].endswith("ValueDrift"):
            per_column[config["column"]] = {"method": config["method"], "score": metric["value"]}
    result = {
        "evidently": evidently.__version__,
        "rows": rows,
        "count_seconds": count_seconds[0],
        "count_cpu_seconds": count_seconds[1],
        "preset_seconds": preset_seconds[0],
        "preset_cpu_seconds": preset_seconds[1],
        "drifted_columns": count["metrics"][0]["value"]["count"],
        "share": count["metrics"][0]["value"]["share"],
        "columns": per_column,
    }
    (out / "evidently.json").write_text(json.dumps(result, indent=1) + "\n")
    kernels = [(pool.get("internal_api"), pool.get("architecture"))
               for pool in threadpoolctl.threadpool_info()]
    print(f"numpy {np.__version__}, BLAS {kernels}")
    print(f"evidently {evidently.__version__} on {rows} + {rows} rows x 15 columns: "
          f"DriftedColumnsCount {count_seconds[0]:.2f} s ({count_seconds[1]:.2f} s CPU), "
          f"DataDriftPreset {preset_seconds[0]:.2f} s ({preset_seconds[1]:.2f} s CPU)")


if __name__ == "__main__":
    main()
