"""``${argo:sweep}``: the branch label in a swept step, a fallback or ``default`` elsewhere."""

from __future__ import annotations

import pytest

from kedro_argo import contract
from kedro_argo.runtime.hooks import NO_SWEEP, resolve


def test_sweep_is_the_branch_label_in_a_branch(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(contract.SWEEP_ENV, "alpha-0.1")
    assert resolve("sweep") == "alpha-0.1"
    assert resolve("sweep", "ignored") == "alpha-0.1"


def test_outside_a_branch_the_fallback_or_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(contract.SWEEP_ENV, raising=False)
    assert resolve("sweep") == NO_SWEEP == "default"
    assert resolve("sweep", "all") == "all"


def test_unknown_keys_name_the_known_ones() -> None:
    with pytest.raises(ValueError, match="argo:sweep"):
        resolve("sweeep")
