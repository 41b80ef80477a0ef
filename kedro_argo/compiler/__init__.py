"""Compile a Kedro pipeline into an Argo manifest.

Kedro project ─ :mod:`.project` (the only Kedro I/O) ─▶ facts ─ :mod:`.grouping` ─▶ groups
─ :mod:`.plan` ─▶ plan tree ─ :mod:`.emit` ─▶ manifest dict ─ :mod:`.checks`. All but the
first stage are pure; :mod:`.build` chains them for every command that needs a manifest.
"""

from kedro_argo.compiler.build import BuildRequest, Built, build_from_facts, build_manifest

__all__ = ["BuildRequest", "Built", "build_from_facts", "build_manifest"]
