"""docs/troubleshooting.md lists every error message the plugin can print, and no other.

Messages are read from the code's ``raise`` sites (f-string placeholders shown as ``…``) and
compared with the page's entries both ways: a new or reworded message fails until the page says
what it means and what to do, and an entry whose message is gone fails too. Sites whose message
is composed elsewhere (a helper, a re-raise) are listed in ``COMPOSED`` with the page section
that documents them.
"""

from __future__ import annotations

import ast
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PAGE = REPO / "docs" / "troubleshooting.md"

# Exceptions whose message reaches the user: ours (printed as one `Error: …` line or, in a pod,
# as the step's last log line) and click's (option errors).
USER_FACING = re.compile(r"(^|\.)(\w+Error|ClickException|BadParameter|UsageError)$")
INTERNAL = {"ValueError", "KeyError", "TypeError", "AssertionError", "RuntimeError", "OSError"}

# lint's name rule: one message, two endings (Argo names vs parameter names)
LINT_NAME_MESSAGE = (
    "f\"'{name}' is not a valid {what} name (at most {limit} characters, letters, digits and "
    "{allowed}\" + (', starting with a letter or digit)' if pattern is argo.ARGO_NAME_RE else ')')"
)

# raise sites whose message is not a literal: (file, the argument's source) -> page anchor
COMPOSED = {
    ("kedro_argo/argo.py", "expression"): "#depends-expressions",
    ("kedro_argo/cli.py", "str(exc)"): "#how-errors-look",
    ("kedro_argo/compiler/build.py", "'\\n'.join((f'{source}: {p}' for p in problems))"): (
        "#names-argoyml-refers-to"
    ),
    ("kedro_argo/config.py", "describe_validation_error(exc, source)"): "#argoyml-values",
    ("kedro_argo/local/support.py", "refusal_message(problems)"): "#what-local-mode-refuses",
    ("kedro_argo/runtime/mlflow.py", "_missing_kedro_mlflow()"): "#mlflow",
    ("kedro_argo/runtime/store.py", "ref.name"): "#intermediate-data",
    ("kedro_argo/runtime/store.py", "str(exc)"): "#intermediate-data",
    ("kedro_argo/runtime/store.py", "self._unpicklable(exc)"): "#intermediate-data",
    ("kedro_argo/server/argo_api.py", "NO_SERVER"): "#argo-server",
    ("kedro_argo/server/kube.py", "NO_CLUSTER"): "#kubeconfig-and-the-kubernetes-api",
    ("kedro_argo/validation/lint.py", "_sentence(problem)"): "#manifest-rules",
    ("kedro_argo/validation/lint.py", "message"): "#manifest-rules",  # unresolved references
    ("kedro_argo/validation/lint.py", LINT_NAME_MESSAGE): "#manifest-rules",
    ("kedro_argo/validation/lint.py", "str(exc).rstrip('.')"): "#schedules",  # cron, timezone
    ("kedro_argo/validation/lint.py", "problem"): "#manifest-rules",  # {{variables}}
    ("kedro_argo/validation/schema.py", "_message(error)"): "#manifest-rules",  # JSON schema
    ("kedro_argo/validation/schema.py", "str(rule.get('message') or rule.get('rule'))"): (
        "#manifest-rules"  # the CRDs' CEL rules
    ),
}


def _template(arg: ast.expr) -> str | None:
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        text = arg.value
    elif isinstance(arg, ast.JoinedStr):
        text = "".join(v.value if isinstance(v, ast.Constant) else "…" for v in arg.values)
    else:
        return None
    return " ".join(text.split())


def _problem_message(node: ast.AST) -> ast.expr | None:
    """The message of a manifest-rule finding, ``Problem(path, message, ...)``."""
    if isinstance(node, ast.Call) and ast.unparse(node.func) == "Problem":
        if len(node.args) >= 2:
            return node.args[1]
        return next((k.value for k in node.keywords if k.arg == "message"), None)
    return None


def raise_sites() -> tuple[dict[str, list[str]], dict[tuple[str, str], list[str]]]:
    """Literal messages -> where raised, and composed sites -> where raised. Manifest-rule
    findings (``Problem(...)`` in ``kedro_argo/validation``) count as messages too: compile and
    ``kedro argo validate`` print them."""
    literal: dict[str, list[str]] = {}
    composed: dict[tuple[str, str], list[str]] = {}
    for path in sorted((REPO / "kedro_argo").rglob("*.py")):
        relative = path.relative_to(REPO).as_posix()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            message = _problem_message(node)
            if message is not None:
                template = _template(message)
                where = f"{relative}:{node.lineno}"
                if template is None:
                    composed.setdefault((relative, ast.unparse(message)), []).append(where)
                else:
                    literal.setdefault(template, []).append(where)
                continue
            if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)):
                continue
            name = ast.unparse(node.exc.func)
            if not USER_FACING.search(name) or name in INTERNAL or not node.exc.args:
                continue
            where = f"{relative}:{node.lineno}"
            template = _template(node.exc.args[0])
            if template is None:
                key = (relative, ast.unparse(node.exc.args[0]))
                composed.setdefault(key, []).append(where)
            else:
                literal.setdefault(template, []).append(where)
    return literal, composed


def documented_messages() -> set[str]:
    """The page's entries: list items that start with a code span holding the message."""
    entries = set()
    for match in re.finditer(r"^- (`+) (.+?) \1", PAGE.read_text(encoding="utf-8"), re.M):
        entries.add(" ".join(match.group(2).split()))
    return entries


def anchors() -> set[str]:
    """The page's heading anchors, as mkdocs' toc extension makes them."""
    found = set()
    for heading in re.findall(r"^#+ (.+)$", PAGE.read_text(encoding="utf-8"), re.M):
        slug = re.sub(r"[^\w\s-]", "", heading.lower()).strip()
        found.add("#" + re.sub(r"[\s]+", "-", slug))
    return found


def test_every_message_the_code_raises_is_documented() -> None:
    literal, _ = raise_sites()
    documented = documented_messages()
    missing = [
        f"{sites[0]}: {message}" for message, sites in literal.items() if message not in documented
    ]
    assert not missing, "add to docs/troubleshooting.md:\n" + "\n".join(sorted(missing))


def test_every_documented_message_is_still_raised() -> None:
    literal, _ = raise_sites()
    stale = sorted(documented_messages() - set(literal))
    assert not stale, "no longer raised, remove from docs/troubleshooting.md:\n" + "\n".join(stale)


def test_composed_messages_point_at_a_section_that_exists() -> None:
    _, composed = raise_sites()
    unknown = {key: sites for key, sites in composed.items() if key not in COMPOSED}
    assert not unknown, f"document these and add them to COMPOSED: {unknown}"
    missing = {key: anchor for key, anchor in COMPOSED.items() if anchor not in anchors()}
    assert not missing, f"docs/troubleshooting.md lacks the sections {missing}"
    gone = set(COMPOSED) - set(composed)
    assert not gone, f"no longer raised, remove from COMPOSED: {gone}"
