"""Copies a registered skip-model version into the Rust scorer's test fixture.

    python -m pipelines.skip_model.fixture --mlflow-url http://127.0.0.1:15000 \\
        --model-name skip-model --version 3 --out crates/lucid-model/fixtures

Writes ``skip-model/model.onnx``, ``model.json`` and ``parity.json`` (held-out rows with
scikit-learn's scores, made by the pipeline's export step) under ``--out``, plus
``source.json``: the version and its lineage tags, so the fixture says where it came from.
``scripts/train-local --fixture`` runs this after training on simulated listening.
"""

import argparse
import json
import shutil
import sys
import tempfile
from pathlib import Path

FILES = ["model.onnx", "model.json", "parity.json"]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m pipelines.skip_model.fixture",
                                     description=__doc__.splitlines()[0])
    parser.add_argument("--mlflow-url", required=True)
    parser.add_argument("--model-name", default="skip-model")
    parser.add_argument("--version", required=True)
    parser.add_argument("--out", required=True, type=Path, help="the fixtures folder")
    args = parser.parse_args(argv)

    from mlflow import MlflowClient
    from mlflow.artifacts import download_artifacts

    client = MlflowClient(tracking_uri=args.mlflow_url, registry_uri=args.mlflow_url)
    version = client.get_model_version(args.model_name, args.version)
    target = args.out / args.model_name
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        local = Path(download_artifacts(run_id=version.run_id, artifact_path="model",
                                        dst_path=scratch, tracking_uri=args.mlflow_url))
        for name in FILES:
            shutil.copyfile(local / name, target / name)
    source = {
        "model_name": version.name,
        "version": version.version,
        "run_id": version.run_id,
        "lineage": {k: v for k, v in sorted(version.tags.items()) if k.startswith("lucid.")},
        "made_by": "scripts/train-local --fixture (simulated listening, baseline scenario)",
    }
    (target / "source.json").write_text(json.dumps(source, indent=2) + "\n")
    size = sum((target / n).stat().st_size for n in [*FILES, "source.json"])
    print(f"fixture: {args.model_name} version {version.version} -> {target} ({size} bytes)",
          file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
