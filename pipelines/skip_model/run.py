"""Runs the skip-model pipeline once on the KFP SDK's local runner and prints its result.

    python -m pipelines.skip_model.run --offline-dir .lucid/train-local/offline \\
        --mlflow-url http://127.0.0.1:15000 --alert-ids drift-1,drift-2 --run-name retrain-42

The steps are the Kubeflow components of ``pipeline.py``, run as subprocesses in this Python
environment (``kfp.local.SubprocessRunner(use_venv=False)``: nothing is installed at run time,
so it works offline once ``scripts/requirements/pipeline.txt`` is installed). Step logs go to
standard error; standard output holds one line, the JSON summary of the registered model
version (model name, version, run id, metrics, lineage), which a retraining trigger parses.
Exit status 0 means a version is registered (or was already, for the same ``--run-name``).
"""

import argparse
import contextlib
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

# Code whose change changes the model: the pipeline and the training set's computation.
CODE_PATHS = ["pipelines", "crates/lucid-offline", "crates/lucid-features"]


def default_backfill() -> str:
    cache = os.environ.get("LUCID_CACHE", str(Path.home() / ".cache" / "lucid"))
    target = os.environ.get("CARGO_TARGET_DIR", os.path.join(cache, "target"))
    return os.path.join(target, os.environ.get("LUCID_PROFILE", "release"), "backfill")


def code_version() -> str:
    """The git commit of this checkout, with ``-dirty`` when the model's code has changes."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "HEAD"],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
        changes = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--", *CODE_PATHS],
            capture_output=True, text=True, check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{commit}-dirty" if changes else commit


def check_mlflow(url: str) -> None:
    try:
        with urllib.request.urlopen(f"{url.rstrip('/')}/health", timeout=5) as answer:
            if answer.status == 200:
                return
    except (urllib.error.URLError, OSError) as error:
        raise SystemExit(
            f"run: MLflow does not answer at {url} ({error}); start the local one with "
            "`scripts/stack up mlflow`"
        ) from None
    raise SystemExit(f"run: MLflow at {url} answered /health with {answer.status}")


def parse_args(argv: list[str]) -> argparse.Namespace:
    state = Path(os.environ.get("LUCID_STATE", ROOT / ".lucid"))
    parser = argparse.ArgumentParser(
        prog="python -m pipelines.skip_model.run",
        description="Train, evaluate, export and register one skip-model version (local runner)",
    )
    parser.add_argument("--offline-dir", required=True, type=Path,
                        help="the feature store's offline log (date=YYYY-MM-DD/part-*.parquet)")
    parser.add_argument("--mlflow-url", default=os.environ.get("LUCID_MLFLOW_URL",
                                                               "http://127.0.0.1:15000"),
                        help="MLflow tracking and registry server (default: $LUCID_MLFLOW_URL)")
    parser.add_argument("--alert-ids", default="",
                        help="comma-separated ids of the drift alerts behind this run")
    parser.add_argument("--run-name", default="",
                        help="dedupe key: a second run with the same key returns the first "
                        "one's version instead of registering another")
    parser.add_argument("--model-name", default="skip-model")
    parser.add_argument("--experiment", default="skip-model")
    parser.add_argument("--backfill-bin", default=default_backfill(),
                        help="the backfill binary (default: $CARGO_TARGET_DIR/$LUCID_PROFILE/backfill, "
                        "the profile release unless set)")
    parser.add_argument("--features-file", default="",
                        help="feature definitions for backfill (default: the starter set)")
    parser.add_argument("--code-version", default=None,
                        help="recorded in the lineage (default: this checkout's git commit)")
    parser.add_argument("--holdout-fraction", type=float, default=0.25,
                        help="the last share of the data window held out for evaluation")
    parser.add_argument("--regularization", type=float, default=1.0,
                        help="inverse regularization strength C of the logistic regression")
    parser.add_argument("--invert-scores", action="store_true",
                        help="deliberately broken, for the rollback demo: export 1 - p "
                        "instead of p (the registered metrics stay the trained model's)")
    parser.add_argument("--pipeline-root", type=Path, default=state / "pipeline-runs",
                        help="where the local runner keeps each step's outputs")
    args = parser.parse_args(argv)
    if any(c in args.run_name for c in "'\\\"\n"):
        parser.error("--run-name must not hold quotes, backslashes or newlines")
    if not 0 < args.holdout_fraction < 1:
        parser.error("--holdout-fraction must lie between 0 and 1")
    return args


@contextlib.contextmanager
def stdout_to_stderr():
    """Sends everything written to file descriptor 1, by this process or the steps' processes,
    to standard error, so that standard output carries only the result."""
    sys.stdout.flush()
    saved = os.dup(1)
    os.dup2(2, 1)
    try:
        yield
    finally:
        sys.stdout.flush()
        os.dup2(saved, 1)
        os.close(saved)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    check_mlflow(args.mlflow_url)
    args.pipeline_root.mkdir(parents=True, exist_ok=True)

    with stdout_to_stderr():
        # Imported here: kfp prints while it loads, and the steps' source is read at import.
        from kfp import local

        from .pipeline import skip_model_pipeline

        local.init(
            runner=local.SubprocessRunner(use_venv=False),
            pipeline_root=str(args.pipeline_root.resolve()),
        )
        task = skip_model_pipeline(
            offline_dir=str(args.offline_dir.resolve()),
            mlflow_url=args.mlflow_url,
            backfill_bin=args.backfill_bin,
            features_file=str(Path(args.features_file).resolve()) if args.features_file else "",
            model_name=args.model_name,
            experiment=args.experiment,
            dedupe_key=args.run_name,
            alert_ids=args.alert_ids,
            code_version=args.code_version or code_version(),
            holdout_fraction=args.holdout_fraction,
            regularization=args.regularization,
            invert_scores=args.invert_scores,
        )
        summary = json.loads(task.output)

    print(json.dumps(summary, separators=(",", ":")), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
