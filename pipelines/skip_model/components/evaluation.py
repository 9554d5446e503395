"""Step 3: the model judged on the held-out period, after the training one."""

from kfp import dsl
from kfp.dsl import Artifact, Dataset, Input, Metrics, Model, Output

from ..packages import BASE_IMAGE, pinned


@dsl.component(
    base_image=BASE_IMAGE,
    packages_to_install=pinned("numpy", "pyarrow", "scikit-learn", "joblib"),
)
def evaluate_skip_model(
    training_set: Input[Dataset],
    model: Input[Model],
    calibration_bins: int,
    metrics: Output[Metrics],
    report: Output[Artifact],
) -> float:
    """Scores the rows at or after the split time and measures ranking and calibration.

    Ranking: ROC AUC. Probabilities: log loss and Brier score, each beside the score of a
    constant forecast of the training period's skip rate (the model must beat it to be worth
    anything). Calibration: a reliability table over ``calibration_bins`` equal-width bins of
    the predicted probability (rows, mean prediction, observed skip rate) and the expected
    calibration error, the row-weighted mean gap between the two. The training period's AUC
    is reported too, to show over-fitting. Writes everything to ``report`` (JSON) and the
    headline numbers to ``metrics``; returns the held-out AUC.
    """
    import json

    import joblib
    import numpy as np
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from sklearn.metrics import brier_score_loss, log_loss, roc_auc_score

    if calibration_bins < 2:
        raise ValueError(f"calibration_bins must be at least 2, got {calibration_bins}")
    saved = joblib.load(model.path)
    fitted, features, split = saved["pipeline"], saved["features"], saved["split_time_ms"]

    table = pq.read_table(training_set.path)
    table = table.filter(pc.is_valid(table.column("label_skip")))
    times = table.column("event_time").cast(pa.int64()).to_numpy()
    x = np.column_stack(
        [table.column(f).to_numpy(zero_copy_only=False).astype(np.float32) for f in features]
    )
    y = table.column("label_skip").to_numpy(zero_copy_only=False).astype(np.int64)
    held_out = times >= split
    p_train = fitted.predict_proba(x[~held_out])[:, 1]
    p = fitted.predict_proba(x[held_out])[:, 1]
    y_train, y = y[~held_out], y[held_out]

    # Equal-width bins; the last one is closed so that p = 1 falls in it.
    index = np.minimum((p * calibration_bins).astype(np.int64), calibration_bins - 1)
    table_rows, ece = [], 0.0
    for b in range(calibration_bins):
        inside = index == b
        n = int(inside.sum())
        row = {"bin": b, "low": b / calibration_bins, "high": (b + 1) / calibration_bins, "rows": n}
        if n:
            mean_p, rate = float(p[inside].mean()), float(y[inside].mean())
            row.update(mean_predicted=mean_p, observed_rate=rate)
            ece += n / len(p) * abs(mean_p - rate)
        table_rows.append(row)

    base_rate = float(y_train.mean())
    constant = np.full(len(y), base_rate)
    result = {
        "auc": float(roc_auc_score(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "brier": float(brier_score_loss(y, p)),
        "ece": float(ece),
        "train_auc": float(roc_auc_score(y_train, p_train)),
        "baseline_log_loss": float(log_loss(y, constant, labels=[0, 1])),
        "baseline_brier": float(brier_score_loss(y, constant)),
        "holdout_skip_rate": float(y.mean()),
        "train_skip_rate": base_rate,
        "holdout_rows": int(len(y)),
        "train_rows": int(len(y_train)),
    }
    for name, value in result.items():
        metrics.log_metric(name, value)
    with open(report.path, "w") as f:
        json.dump({"metrics": result, "reliability": table_rows}, f, indent=2)
    return result["auc"]
