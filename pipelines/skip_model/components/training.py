"""Step 2: a logistic regression trained on the earlier part of the data window."""

from typing import NamedTuple

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

from ..packages import BASE_IMAGE, pinned


@dsl.component(
    base_image=BASE_IMAGE,
    packages_to_install=pinned("numpy", "pandas", "pyarrow", "scikit-learn", "joblib"),
)
def train_skip_model(
    training_set: Input[Dataset],
    holdout_fraction: float,
    regularization: float,
    model: Output[Model],
) -> NamedTuple(
    "Split",
    [
        ("window_start_ms", int),
        ("split_time_ms", int),
        ("window_end_ms", int),
        ("train_rows", int),
        ("holdout_rows", int),
        ("features", str),
    ],
):
    """Trains imputation, scaling and a logistic regression on rows before the split time.

    The data window runs from the first to the last labelled row's event time; the last
    ``holdout_fraction`` of it is held out for the evaluation, so the model is judged on a
    later period than it saw. Features are the training set's feature columns in file order
    (those with a ``__status`` column); a value that was not present is missing (NaN) and is
    imputed with the training median. ``regularization`` is the inverse strength ``C``.

    The fitted scikit-learn pipeline, the feature order and the split go to ``model`` (joblib).
    Returns the window, the split and the row counts, and the features as a JSON list.
    """
    import json
    from collections import namedtuple

    import joblib
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    if not 0.0 < holdout_fraction < 1.0:
        raise ValueError(f"holdout_fraction must lie in (0, 1), got {holdout_fraction}")

    table = pq.read_table(training_set.path)
    features = [n for n in table.column_names if f"{n}__status" in table.column_names]
    if not features:
        raise ValueError("the training set has no feature columns (<name> with <name>__status)")
    table = table.filter(pc.is_valid(table.column("label_skip")))
    times = table.column("event_time").cast(pa.int64()).to_numpy()
    x = np.column_stack(
        [table.column(f).to_numpy(zero_copy_only=False).astype(np.float32) for f in features]
    )
    y = table.column("label_skip").to_numpy(zero_copy_only=False).astype(np.int64)

    start, end = int(times.min()), int(times.max())
    split = start + int((end - start) * (1.0 - holdout_fraction))
    train = times < split
    for name, part in (("training", train), ("held-out", ~train)):
        labels = set(np.unique(y[part]).tolist())
        if part.sum() < 50 or labels != {0, 1}:
            raise ValueError(
                f"the {name} period has {int(part.sum())} labelled rows with labels "
                f"{sorted(labels)}: it needs at least 50 rows and both outcomes; "
                "log a longer window or change holdout_fraction"
            )

    # keep_empty_features: a feature with no value in the training period keeps its column
    # (imputed 0), so the model's input width always equals the feature list's length.
    fitted = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median", keep_empty_features=True)),
            ("scale", StandardScaler()),
            ("classify", LogisticRegression(C=regularization, max_iter=1000)),
        ]
    ).fit(x[train], y[train])

    joblib.dump(
        {"pipeline": fitted, "features": features, "split_time_ms": split},
        model.path,
    )
    model.metadata["features"] = features
    model.metadata["framework"] = "scikit-learn"
    Out = namedtuple(
        "Split",
        [
            "window_start_ms",
            "split_time_ms",
            "window_end_ms",
            "train_rows",
            "holdout_rows",
            "features",
        ],
    )
    return Out(start, split, end, int(train.sum()), int((~train).sum()), json.dumps(features))
