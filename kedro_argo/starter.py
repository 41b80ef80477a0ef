"""The ``kedro.starters`` entry point: ``kedro new --starter argo-spaceflights``."""

from __future__ import annotations

starters: list = []  # filled in by the starter work (issue 11 part 3)
