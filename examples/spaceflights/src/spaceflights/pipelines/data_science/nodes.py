"""Nodes of the ``data_science`` pipeline (pandas + numpy only).

The model is an ordinary least-squares linear regression solved with
``numpy.linalg.lstsq``; it is stored as a plain dict so the pickle needs no
project code to be loaded.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

TARGET = "price"


def split_data(
    data: pd.DataFrame, parameters: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series, pd.Series]:
    """Split the model input table into train and test sets (seeded permutation).

    Args:
        data: The model input table.
        parameters: ``model_options`` with ``features``, ``test_size`` and ``random_state``.
    """
    features = list(parameters["features"])
    rng = np.random.default_rng(int(parameters["random_state"]))
    order = rng.permutation(len(data))
    n_test = round(len(data) * float(parameters["test_size"]))
    test_idx, train_idx = np.sort(order[:n_test]), np.sort(order[n_test:])

    X = data[features].astype(float)
    y = data[TARGET].astype(float)
    X_train = X.iloc[train_idx].reset_index(drop=True)
    X_test = X.iloc[test_idx].reset_index(drop=True)
    y_train = y.iloc[train_idx].reset_index(drop=True)
    y_test = y.iloc[test_idx].reset_index(drop=True)
    return X_train, X_test, y_train, y_test


def train_model(X_train: pd.DataFrame, y_train: pd.Series) -> dict[str, Any]:
    """Fit ``price ~ intercept + features`` by least squares."""
    design = np.column_stack([np.ones(len(X_train)), X_train.to_numpy(dtype=float)])
    coef, *_ = np.linalg.lstsq(design, y_train.to_numpy(dtype=float), rcond=None)
    return {
        "intercept": float(coef[0]),
        "coefficients": {
            str(name): float(c) for name, c in zip(X_train.columns, coef[1:], strict=True)
        },
    }


def predict(regressor: dict[str, Any], X: pd.DataFrame) -> np.ndarray:
    coefficients = regressor["coefficients"]
    weights = np.array([coefficients[c] for c in X.columns], dtype=float)
    return regressor["intercept"] + X.to_numpy(dtype=float) @ weights


def evaluate_model(
    regressor: dict[str, Any], X_test: pd.DataFrame, y_test: pd.Series
) -> dict[str, float | int]:
    """Compute R^2, MAE and max error on the test set (rounded, for stable outputs)."""
    y_true = y_test.to_numpy(dtype=float)
    residuals = y_true - predict(regressor, X_test)
    ss_res = float(np.sum(residuals**2))
    ss_tot = float(np.sum((y_true - y_true.mean()) ** 2))
    r2 = 1.0 - ss_res / ss_tot
    logger.info("Model has a coefficient R^2 of %.3f on test data.", r2)
    return {
        "r2_score": round(r2, 6),
        "mae": round(float(np.mean(np.abs(residuals))), 4),
        "max_error": round(float(np.max(np.abs(residuals))), 4),
        "n_test": len(y_true),
        "n_features": len(X_test.columns),
    }
