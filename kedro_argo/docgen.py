"""Generate the reference pages from the code, so they cannot drift from it.

``docs/configuration.md`` comes from the config model, ``docs/cli.md`` from the click commands.
Run ``python -m kedro_argo.docgen docs`` (``make docs``); ``tests/test_docs.py`` fails when a
committed page differs from what this module generates.
"""

from __future__ import annotations

import inspect
import sys
import types
import typing
from collections.abc import Iterator
from typing import Any

import click
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


def configuration_reference() -> str:
    scaffold = render(CONFIG_TEMPLATE, project_name="<project>", image="<image>")
    body = "\n".join(_rows(ArgoConfig))
    return f"{HEADER}{body}\n\n## The annotated scaffold\n\n```yaml\n{scaffold}```\n"


CLI_HEADER = """# Command line

Generated from `kedro_argo/cli.py` by `make docs`; do not edit by hand.
Every command runs inside a Kedro project folder. Errors are one `Error: …` line on stderr
with exit code 1 (2 for a bad option); see [Troubleshooting](troubleshooting.md).
Tokens and credentials are read from environment variables, never from options.
"""


def _cell(text: str) -> str:
    return " ".join(text.split()).replace("|", "\\|")


def _value(ctx: click.Context, option: click.Option) -> str:
    if option.is_flag:
        return ""
    kind = option.type
    if isinstance(kind, click.IntRange):
        describe = getattr(kind, "_describe_range", None)
        text = f"integer {describe()}" if callable(describe) else "integer"
    else:
        text = option.metavar or kind.get_metavar(option, ctx) or kind.name
    return f"`{_cell(text)}`"


def _default(option: click.Option) -> str:
    default = option.default
    if option.is_flag or option.multiple or callable(default):
        return ""
    if default is None or default in ("", ()) or type(default).__name__ == "Sentinel":
        return ""
    return f"`{default}`"


def _option_row(ctx: click.Context, option: click.Option) -> str:
    names = ", ".join(f"`{name}`" for name in [*option.opts, *option.secondary_opts])
    repeat = " Repeatable." if option.multiple and "repeat" not in (option.help or "") else ""
    value, default = _value(ctx, option), _default(option)
    return f"| {names} | {value} | {default} | {_cell(option.help or '')}{repeat} |"


def _command_section(group: click.Group, name: str, path: str) -> Iterator[str]:
    command = group.commands[name]
    ctx = click.Context(command, info_name=f"{path} {name}")
    usage = " ".join(command.collect_usage_pieces(ctx))
    yield f"## `{path} {name}`\n"
    yield inspect.cleandoc(command.help or "") + "\n"
    yield f"```text\n{path} {name} {usage}\n```\n"
    arguments = [p for p in command.params if isinstance(p, click.Argument)]
    if arguments:
        yield (
            "Arguments: "
            + ", ".join(
                f"`{p.human_readable_name}`{'' if p.required else ' (optional)'}" for p in arguments
            )
            + ".\n"
        )
    options = [
        p
        for p in command.params
        if isinstance(p, click.Option) and not p.hidden and p.name != "help"
    ]
    if options:
        yield "| option | value | default | meaning |\n|---|---|---|---|"
        yield "\n".join(_option_row(ctx, p) for p in options) + "\n"


def cli_reference() -> str:
    from kedro_argo.cli import argo

    parts = [CLI_HEADER, (argo.help or "").strip() + "\n"]
    for name in sorted(argo.commands):
        if argo.commands[name].hidden:
            continue
        parts.extend(_command_section(argo, name, "kedro argo"))
    return "\n".join(parts)


#: Generated page (relative to the docs folder) -> the function that writes it.
PAGES = {"configuration.md": configuration_reference, "cli.md": cli_reference}


def main(folder: str = "docs") -> None:
    for page, generate in PAGES.items():
        target = f"{folder}/{page}"
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(generate())
        print(f"wrote {target}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
