"""Argo ``{{...}}`` substitution and Kubernetes ``$(VAR)`` expansion, as local mode needs them.

Argo replaces ``{{tag}}`` (whitespace around the tag is ignored) in one pass: a substituted value
is never scanned again. Local mode resolves a fixed set of tags (see :class:`Scope`); any other
tag, an ``{{=expression}}`` or an unterminated ``{{`` is refused before anything runs.

After Argo, the kubelet expands ``$(NAME)`` in ``command``, ``args`` and env values from the
container's own env (earlier entries only, for env values); ``$$`` is a literal ``$`` and an
unknown ``$(NAME)`` is kept as written. :func:`expand_k8s` does the same.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from kedro_argo.errors import LocalRunError

__all__ = ["SUPPORTED_TAGS", "Scope", "expand_k8s", "find_tags", "substitute"]

# Tags local mode resolves, for error messages.
SUPPORTED_TAGS = (
    "workflow.uid",
    "workflow.name",
    "workflow.namespace",
    "workflow.creationTimestamp",
    "workflow.parameters.<name>",
    "inputs.parameters.<name>",
    "item / item.<key> (in a withItems task)",
    "workflow.status (exit handler only)",
    "workflow.failures (exit handler only)",
)


def find_tags(text: str) -> list[str]:
    """The stripped contents of every ``{{...}}`` in ``text``; raises ValueError if unterminated."""
    tags: list[str] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            return tags
        end = text.find("}}", start + 2)
        if end < 0:
            raise ValueError(f"unterminated '{{{{' in {text!r}")
        tags.append(text[start + 2 : end].strip())
        pos = end + 2


@dataclass(frozen=True)
class Scope:
    """The values a template's strings can refer to."""

    globals: Mapping[str, str]
    inputs: Mapping[str, str] = field(default_factory=dict)
    exit_handler: bool = False
    #: the current ``withItems`` item, as Argo renders it: ``item`` for a scalar item, and
    #: ``item.<key>`` for each key of a map item
    item: Mapping[str, str] | None = None

    def lookup(self, tag: str) -> str | None:
        if tag.startswith("inputs.parameters."):
            return self.inputs.get(tag[len("inputs.parameters.") :])
        if tag == "item" or tag.startswith("item."):
            return None if self.item is None else self.item.get(tag)
        if tag in ("workflow.status", "workflow.failures") and not self.exit_handler:
            return None
        return self.globals.get(tag)


def _why_unresolved(tag: str, scope: Scope) -> str:
    if tag.startswith("="):
        return "expression tags ({{=...}}) are not supported locally"
    if tag in ("workflow.status", "workflow.failures"):
        return f"{{{{{tag}}}}} is only available in the exit handler (spec.onExit)"
    prefix = "workflow.parameters."
    if tag.startswith(prefix):
        names = ", ".join(sorted(k[len(prefix) :] for k in scope.globals if k.startswith(prefix)))
        return f"no workflow parameter {tag[len(prefix) :]!r} (declared: {names or 'none'})"
    if tag == "item" or tag.startswith("item."):
        if scope.item is None:
            return "{{item}} is only set in a task with withItems"
        return f"the item has no {tag!r} (it has: {', '.join(sorted(scope.item))})"
    if tag.startswith("inputs.parameters."):
        declared = ", ".join(sorted(scope.inputs)) or "none"
        return (
            f"the template declares no input parameter "
            f"{tag[len('inputs.parameters.') :]!r} (declared: {declared})"
        )
    return "local mode resolves only " + ", ".join(SUPPORTED_TAGS)


def substitute(text: str, scope: Scope, where: str) -> str:
    """``text`` with every ``{{tag}}`` replaced; :class:`LocalRunError` naming ``where`` if not."""
    if "{{" not in text:
        return text
    out: list[str] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            out.append(text[pos:])
            return "".join(out)
        end = text.find("}}", start + 2)
        if end < 0:
            raise LocalRunError(f"{where}: unterminated '{{{{' in {text!r}")
        tag = text[start + 2 : end].strip()
        value = scope.lookup(tag)
        if value is None:
            raise LocalRunError(
                f"local mode cannot run {where}: cannot resolve {{{{{tag}}}}}: "
                f"{_why_unresolved(tag, scope)}"
            )
        out.append(text[pos:start])
        out.append(value)
        pos = end + 2


def expand_k8s(text: str, env: Mapping[str, str]) -> str:
    """Kubernetes ``$(NAME)`` expansion (``$$`` escapes; unknown names are left as written)."""
    if "$" not in text:
        return text
    out: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch != "$" or i + 1 >= n:
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "(":
            close = text.find(")", i + 2)
            if close < 0:
                out.append(text[i:])
                break
            name = text[i + 2 : close]
            out.append(env[name] if name in env else text[i : close + 1])
            i = close + 1
        else:
            out.append(ch)
            out.append(nxt)
            i += 2
    return "".join(out)
