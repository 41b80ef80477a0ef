"""Generate docs/configuration.md from the config model, so the reference cannot drift.

Run ``python -m kedro_argo.docgen docs/configuration.md`` (``make docs``).
"""

from __future__ import annotations

import sys
import types
import typing
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel

from kedro_argo.config import ArgoConfig, GroupBy
from kedro_argo.scaffold import CONFIG_TEMPLATE, render

HEADER = """# argo.yml reference

Generated from `kedro_argo/config.py` by `make docs`; do not edit by hand.
`kedro argo init` writes the same settings with a comment on each line (below).
Unknown keys are errors. Quantities accept numbers or strings and are emitted as strings;
durations accept seconds or Go durations (`90s`, `1h30m`).
Per-node settings (`nodes.defaults`, `nodes.tags.<tag>`, `nodes.names.<node>`) merge as
defaults < tags (in file order) < node name: `resources`, `retry` and `pod_spec_patch` merge
recursively, `env` and `node_selector` key by key, everything else is replaced. Nodes that
share a pod (`grouping`) combine their settings by the rule in
[the grouping how-to](grouping.md#pod-settings-of-a-group).

| key | type | default |
|---|---|---|
"""


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type_name(args[0])
    if origin in (typing.Union, types.UnionType):
        return " \\| ".join(_type_name(a) for a in args)
    if origin is typing.Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (list, dict):
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    if annotation is type(None):
        return "null"
    if annotation is GroupBy:
        return "`none` \\| `memory` \\| `namespace[:DEPTH]` \\| `tag[:PREFIX]`"
    return getattr(annotation, "__name__", str(annotation))


def _rows(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        annotation = field.annotation
        nested = _nested_model(annotation)
        if nested is not None and typing.get_origin(annotation) is not dict:
            yield f"| `{path}` | section | |"
            yield from _rows(nested, f"{path}.")
            continue
        if typing.get_origin(annotation) is dict and nested is not None:
            yield f"| `{path}.<key>` | {nested.__name__} (as `nodes.defaults`) | `{{}}` |"
            continue
        default = "required" if field.is_required() else f"`{_default_text(field.default)}`"
        yield f"| `{path}` | {_type_name(annotation)} | {default} |"


def _default_text(value: Any) -> str:
    return str(value) if isinstance(value, GroupBy) else repr(value)


def _nested_model(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        found = _nested_model(arg)
        if found is not None and found.__name__ not in {"SecretRef", "Volume"}:
            return found
    return None


def generate() -> str:
    scaffold = render(CONFIG_TEMPLATE, project_name="<project>", image="<image>")
    body = "\n".join(_rows(ArgoConfig))
    return f"{HEADER}{body}\n\n## The annotated scaffold\n\n```yaml\n{scaffold}```\n"


if __name__ == "__main__":
    target = sys.argv[1] if len(sys.argv) > 1 else "docs/configuration.md"
    with open(target, "w", encoding="utf-8") as handle:
        handle.write(generate())
    print(f"wrote {target}")
