"""Step 4: the fitted pipeline as ONNX, checked against scikit-learn before it leaves."""

from kfp import dsl
from kfp.dsl import Dataset, Input, Model, Output

from ..packages import BASE_IMAGE, pinned


@dsl.component(
    base_image=BASE_IMAGE,
    packages_to_install=pinned(
        "numpy", "pyarrow", "scikit-learn", "joblib", "skl2onnx", "onnx", "onnxruntime"
    ),
)
def export_onnx(
    training_set: Input[Dataset],
    model: Input[Model],
    model_name: str,
    parity_rows: int,
    onnx_model: Output[Model],
    invert_scores: bool = False,
) -> float:
    """Converts the fitted pipeline to ONNX that tract (the Rust gateway's runtime) can run.

    ``onnx_model`` becomes a folder: ``model.onnx``, ``model.json`` (the same facts as the ONNX
    metadata, for people and tools) and ``parity.json``, ``parity_rows`` held-out rows with
    scikit-learn's scores, which the Rust scorer's test compares with its own.

    The graph uses only operators tract implements. skl2onnx would turn ``SimpleImputer``
    into ``ai.onnx.ml.Imputer`` and ``StandardScaler`` into ``ai.onnx.ml.Scaler``, which tract
    lacks, so the imputer is converted here to ``IsNaN`` + ``Where`` and the scaler with its
    ``div`` option to ``Sub`` + ``Div``; the classifier is ``LinearClassifier`` without ZipMap,
    so its ``probabilities`` output is a plain [n, 2] tensor. The ONNX metadata carries the
    feature order (``lucid.features``, a JSON list), which the scorer reads.

    Before anything is written, onnxruntime scores every held-out row; the step fails if a
    score differs from scikit-learn's by more than 1e-5. Returns the largest difference.

    ``invert_scores`` exports a deliberately broken model, for the rollback demo and tests: the
    logistic regression's coefficients and intercept are negated before conversion, so every
    score ``p`` becomes ``sigmoid(-z) = 1 - p``. The metadata says so
    (``lucid.inverted_scores``); the evaluation and its metrics stay those of the trained model,
    so the deployment manager's offline gate lets the version through and only live outcomes
    show it is wrong.
    """
    import copy
    import json
    import math
    import os

    import joblib
    import numpy as np
    import onnx
    import onnxruntime
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq
    from onnx import TensorProto, helper
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType
    from skl2onnx.shape_calculators.imputer import calculate_sklearn_imputer_output_shapes
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    tolerance = 1e-5
    input_name, output_name, positive_column = "features", "probabilities", 1

    def convert_imputer(scope, operator, container):
        imputer = operator.raw_operator
        missing = imputer.missing_values
        if not (isinstance(missing, float) and math.isnan(missing)):
            raise ValueError("only SimpleImputer(missing_values=nan) is converted")
        if imputer.add_indicator:
            raise ValueError("SimpleImputer(add_indicator=True) is not converted")
        fill = np.asarray(imputer.statistics_, dtype=np.float32)
        if fill.shape[0] != imputer.n_features_in_ or np.isnan(fill).any():
            raise ValueError("SimpleImputer must keep empty features (keep_empty_features=True)")
        fill_name = scope.get_unique_variable_name("impute_fill")
        container.add_initializer(fill_name, TensorProto.FLOAT, [1, len(fill)], fill.tolist())
        isnan = scope.get_unique_variable_name("impute_isnan")
        source = operator.inputs[0].full_name
        container.add_node(
            "IsNaN", [source], [isnan], name=scope.get_unique_operator_name("IsNaN")
        )
        container.add_node(
            "Where",
            [isnan, fill_name, source],
            [operator.outputs[0].full_name],
            name=scope.get_unique_operator_name("Where"),
        )

    saved = joblib.load(model.path)
    fitted, features, split = saved["pipeline"], saved["features"], saved["split_time_ms"]
    if invert_scores:
        fitted = copy.deepcopy(fitted)
        classifier = fitted.steps[-1][1]
        if not isinstance(classifier, LogisticRegression):
            raise ValueError("invert_scores needs a LogisticRegression as the last step")
        classifier.coef_ = -classifier.coef_
        classifier.intercept_ = -classifier.intercept_
    onx = convert_sklearn(
        fitted,
        initial_types=[(input_name, FloatTensorType([None, len(features)]))],
        options={StandardScaler: {"div": "div"}, LogisticRegression: {"zipmap": False}},
        custom_conversion_functions={SimpleImputer: convert_imputer},
        custom_shape_calculators={SimpleImputer: calculate_sklearn_imputer_output_shapes},
        target_opset={"": 17, "ai.onnx.ml": 3},
    )
    ops = sorted({(n.domain or "ai.onnx", n.op_type) for n in onx.graph.node})
    unsupported = [op for op in ops if op[1] in ("Imputer", "Scaler", "ZipMap")]
    if unsupported:
        raise ValueError(f"the graph holds operators tract does not run: {unsupported}")
    facts = {
        "lucid.model_name": model_name,
        "lucid.features": json.dumps(features),
        "lucid.input": input_name,
        "lucid.output": output_name,
        "lucid.positive_column": str(positive_column),
        "lucid.label": "label_skip",
    }
    if invert_scores:
        facts["lucid.inverted_scores"] = "true"
    helper.set_model_props(onx, facts)
    onx.producer_name = "lucid pipelines.skip_model"
    onnx.checker.check_model(onx)

    table = pq.read_table(training_set.path)
    table = table.filter(pc.is_valid(table.column("label_skip")))
    held_out = table.column("event_time").cast(pa.int64()).to_numpy() >= split
    x = np.column_stack(
        [table.column(f).to_numpy(zero_copy_only=False).astype(np.float32) for f in features]
    )[held_out]
    expected = fitted.predict_proba(x)[:, positive_column]
    session = onnxruntime.InferenceSession(
        onx.SerializeToString(), providers=["CPUExecutionProvider"]
    )
    got = session.run([output_name], {input_name: x})[0][:, positive_column]
    worst = float(np.max(np.abs(got.astype(np.float64) - expected)))
    if worst > tolerance:
        raise ValueError(f"onnxruntime differs from scikit-learn by {worst} (> {tolerance})")

    # The parity sample: rows with a missing value and rows without, spread over the period.
    def spread(group, count):
        count = min(count, len(group))
        return group[np.linspace(0, len(group) - 1, count).astype(int)].tolist() if count else []

    gaps = np.isnan(x).any(axis=1)
    half = parity_rows // 2
    chosen = spread(np.flatnonzero(gaps), parity_rows - half) + spread(np.flatnonzero(~gaps), half)
    chosen = sorted(set(chosen))
    parity = {
        "features": features,
        "input": input_name,
        "output": output_name,
        "positive_column": positive_column,
        "tolerance": tolerance,
        "rows": [[None if math.isnan(v) else float(v) for v in x[i]] for i in chosen],
        "scores": [float(expected[i]) for i in chosen],
    }

    os.makedirs(onnx_model.path, exist_ok=True)
    onnx.save(onx, os.path.join(onnx_model.path, "model.onnx"))
    sidecar = {**facts, "lucid.features": features, "operators": [f"{d}.{o}" for d, o in ops]}
    with open(os.path.join(onnx_model.path, "model.json"), "w") as f:
        json.dump(sidecar, f, indent=2)
    with open(os.path.join(onnx_model.path, "parity.json"), "w") as f:
        json.dump(parity, f, separators=(",", ":"))
    onnx_model.metadata["features"] = features
    onnx_model.metadata["max_abs_diff_onnxruntime"] = worst
    return worst
