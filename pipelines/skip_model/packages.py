"""The pinned Python packages each component installs when it runs on Kubeflow.

The pins come from ``scripts/requirements/pipeline.txt``, the file the local venv is built from,
so that a component runs with the same versions on Kubeflow as here. The file is read when the
components are defined (that is, when the pipeline is compiled), not inside a container.
"""

from __future__ import annotations

import os
from pathlib import Path

REQUIREMENTS = Path(__file__).resolve().parents[2] / "scripts" / "requirements" / "pipeline.txt"

# The image of every step. On Kubeflow it must hold Python 3.11 and, for the training-set step,
# the `backfill` binary on PATH; the local runner runs the steps in the current environment and
# only uses the name in a warning.
BASE_IMAGE = os.environ.get("LUCID_PIPELINE_IMAGE", "python:3.11-slim")


def _pins() -> dict[str, str]:
    pins = {}
    for line in REQUIREMENTS.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, _ = line.partition("==")
        if not sep:
            raise ValueError(f"{REQUIREMENTS}: {line!r} is not pinned with ==")
        pins[name.strip().lower()] = line
    return pins


def pinned(*names: str) -> list[str]:
    """The pinned requirement (``name==version``) of each named package."""
    pins = _pins()
    missing = [n for n in names if n.lower() not in pins]
    if missing:
        raise KeyError(f"{REQUIREMENTS} pins no {', '.join(missing)}")
    return [pins[n.lower()] for n in names]
