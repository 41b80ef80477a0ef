"""What Argo Workflows v4 accepts, in one place: kinds, limits, name rules, ``depends``.

Every other module takes these facts from here, so a limit changes in one line and a reader
finds the source of each number. Values are those of the v4 CRDs and Argo's ``validate.go``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

__all__ = [
    "API_VERSION",
    "ARGO_NAME_RE",
    "ARTIFACT_LOCATIONS",
    "DNS_LABEL_RE",
    "DNS_SUBDOMAIN_RE",
    "GENERATE_NAME_LIMIT",
    "IMAGE_REFERENCE_RE",
    "INT32_MAX",
    "INT64_MAX",
    "KINDS",
    "LABEL_VALUE_MAX_LENGTH",
    "LABEL_VALUE_RE",
    "MAX_DAG_TASKS",
    "MAX_INPUT_PARAMETERS",
    "MAX_OBJECT_BYTES",
    "MAX_TEMPLATES",
    "MAX_TEMPLATE_NAME",
    "OBJECT_NAME_LIMITS",
    "PARAMETER_NAME_MAX_LENGTH",
    "PARAMETER_NAME_RE",
    "TEMPLATE_TYPES",
    "WORKFLOW_KINDS",
    "DependsError",
    "depends_tasks",
    "format_depends",
    "parse_depends",
    "workflow_spec_of",
]

API_VERSION = "argoproj.io/v1alpha1"
#: Our ``--kind`` spellings → the Kubernetes kinds they compile to.
KINDS: Mapping[str, str] = {
    "workflow": "Workflow",
    "template": "WorkflowTemplate",
    "cron": "CronWorkflow",
}
WORKFLOW_KINDS = tuple(KINDS.values())

# --------------------------------------------------------------------------- limits

#: Templates in one Workflow and tasks in one DAG template (v4 CRD ``maxItems``).
#: The fields that make a template one type or another (exactly one per template).
TEMPLATE_TYPES = (
    "container",
    "script",
    "dag",
    "steps",
    "resource",
    "suspend",
    "containerSet",
    "data",
    "http",
    "plugin",
)
#: The fields that say where an artifact is stored (at most one per artifact).
ARTIFACT_LOCATIONS = (
    "s3",
    "git",
    "http",
    "artifactory",
    "hdfs",
    "raw",
    "oss",
    "gcs",
    "azure",
    "plugin",
)

MAX_TEMPLATES = 200
MAX_DAG_TASKS = 200
#: ``inputs.parameters`` of one template (v4 CRD ``maxItems``).
MAX_INPUT_PARAMETERS = 500
#: The controller refuses a Workflow whose object exceeds this (``MAX_WORKFLOW_SIZE``).
MAX_OBJECT_BYTES = 1024 * 1024
#: Template, DAG-task and step names (CRD ``maxLength``).
MAX_TEMPLATE_NAME = 128
#: ``metadata.name`` by kind: a Workflow's name is a label value (63); a CronWorkflow's runs
#: are named ``<name>-<10-digit timestamp>``, so its own name keeps 11 characters free.
OBJECT_NAME_LIMITS: Mapping[str, int] = {
    "Workflow": 63,
    "WorkflowTemplate": 63,
    "CronWorkflow": 52,
}
#: Kubernetes keeps this much of ``generateName`` before its 5 random characters.
GENERATE_NAME_LIMIT = 58
LABEL_VALUE_MAX_LENGTH = 63
PARAMETER_NAME_MAX_LENGTH = 128
#: Integer fields are Go int32 / int64 in Argo's types: the API server refuses larger values.
INT32_MAX = 2**31 - 1
INT64_MAX = 2**63 - 1

# --------------------------------------------------------------------------- name rules
# Use ``.fullmatch()`` with these: in Python ``$`` also matches before a trailing newline,
# so ``.match("name\n")`` succeeds where Argo's Go regexp would reject it.

#: Template, DAG-task and step names (``validate.go``).
ARGO_NAME_RE = re.compile(r"^[a-zA-Z0-9][-a-zA-Z0-9]*$")
#: ``metadata.name`` of Workflow / WorkflowTemplate / CronWorkflow (RFC 1123 label).
DNS_LABEL_RE = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
#: Kubernetes label values (the length cap is checked separately).
LABEL_VALUE_RE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
#: Workflow and template parameter names.
PARAMETER_NAME_RE = re.compile(r"^[-a-zA-Z0-9_]+$")
#: Kubernetes object names and label-key prefixes (RFC 1123 subdomain).
DNS_SUBDOMAIN_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$")
#: A container image reference, ``[registry[:port]/]repository[:tag][@digest]``, by the
#: grammar of the distribution project's ``reference`` package (what the kubelet parses):
#: lower-case repository path components, a tag of at most 128 characters, a digest.
_HOST_PART = r"(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])"
_DOMAIN = rf"{_HOST_PART}(?:\.{_HOST_PART})*(?::[0-9]+)?"
_PATH = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_TAG = r"[\w][\w.-]{0,127}"
_DIGEST = r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}"
IMAGE_REFERENCE_RE = re.compile(
    rf"(?=.{{1,512}}$)(?:{_DOMAIN}/)?{_PATH}(?:/{_PATH})*(?::{_TAG})?(?:@{_DIGEST})?"
)


def workflow_spec_of(manifest: Mapping[str, object]) -> Mapping[str, object]:
    """The workflow spec of a Workflow / WorkflowTemplate, or a CronWorkflow's workflowSpec."""
    spec = manifest.get("spec") or {}
    assert isinstance(spec, Mapping)
    if manifest.get("kind") == "CronWorkflow":
        inner = spec.get("workflowSpec") or {}
        assert isinstance(inner, Mapping)
        return inner
    return spec


# --------------------------------------------------------------------------- depends

_DEPENDS_TOKEN = re.compile(r"&&|\|\||\(|\)|![^\s()&|]*|[^\s()&|!]+|&|\|")


class DependsError(ValueError):
    """A ``depends`` expression outside what kedro-argo writes and reads.

    ``token`` is the offending token (``None`` when the expression is merely incomplete).
    """

    def __init__(self, expression: str, token: str | None, *, restricted: bool = True) -> None:
        self.expression = expression
        self.token = token
        if token is None:
            text = f"depends {expression!r} is incomplete"
        elif not restricted:
            text = f"depends {expression!r}: unexpected {token!r}"
        else:
            text = (
                f"depends {expression!r} uses {token!r}: only task names joined by '&&' "
                "(with optional parentheses) are supported; '||', '!' and results such as "
                "'.Succeeded' or '.Failed' are not"
            )
        super().__init__(text)


def format_depends(names: Iterable[str]) -> str:
    """The ``depends`` expression meaning "after each of ``names`` succeeded"."""
    return " && ".join(names)


def parse_depends(expression: str) -> list[str]:
    """Task names of a ``depends`` made of names, ``&&`` and parentheses (duplicates dropped).

    A bare name means that task Succeeded (or was Skipped/Daemoned), as in Argo. Anything
    else raises :class:`DependsError`: kedro-argo writes only this form, and local mode and the
    pre-submit checks can only honour this form.
    """
    names: list[str] = []
    depth = 0
    expect_operand = True
    for token in _DEPENDS_TOKEN.findall(expression):
        if token == "(":
            if not expect_operand:
                raise DependsError(expression, token)
            depth += 1
        elif token == ")":
            if expect_operand or depth == 0:
                raise DependsError(expression, token)
            depth -= 1
        elif token == "&&":
            if expect_operand:
                raise DependsError(expression, token)
            expect_operand = True
        elif ARGO_NAME_RE.fullmatch(token):
            if not expect_operand:
                raise DependsError(expression, token)
            names.append(token)
            expect_operand = False
        else:
            raise DependsError(expression, token)
    if names and (expect_operand or depth):
        raise DependsError(expression, None)
    if not names and expression.strip():
        raise DependsError(expression, None)
    return list(dict.fromkeys(names))


#: Task results a ``depends`` expression may test (``AnySucceeded`` / ``AllFailed``: loops).
DEPENDS_RESULTS = frozenset(
    {
        "Succeeded",
        "Failed",
        "Errored",
        "Skipped",
        "Omitted",
        "Daemoned",
        "AnySucceeded",
        "AllFailed",
    }
)
_FULL_DEPENDS_TOKEN = re.compile(r"\s*(&&|\|\||!|\(|\)|[A-Za-z0-9][-A-Za-z0-9]*(?:\.[A-Za-z]+)?)")


_PLAIN_DEPENDS = re.compile(r"[A-Za-z0-9][-A-Za-z0-9]*(?: && [A-Za-z0-9][-A-Za-z0-9]*)*")


def depends_tasks(expression: str) -> list[str]:
    """Task names of any ``depends`` expression Argo accepts: names, ``task.Result``
    (:data:`DEPENDS_RESULTS`), ``&&``, ``||``, ``!`` and parentheses. Argo itself only checks
    this grammar when the workflow runs; :class:`DependsError` here names the bad token."""
    if _PLAIN_DEPENDS.fullmatch(expression):  # what the compiler writes: ``a && b``
        return list(dict.fromkeys(expression.split(" && ")))
    tokens: list[str] = []
    position = 0
    text = expression.rstrip()
    while position < len(text):
        match = _FULL_DEPENDS_TOKEN.match(text, position)
        if match is None:
            raise DependsError(expression, text[position:].split()[0], restricted=False)
        tokens.append(match.group(1))
        position = match.end()
    names: list[str] = []
    index = 0

    def peek() -> str | None:
        return tokens[index] if index < len(tokens) else None

    def take() -> str:
        nonlocal index
        token = peek()
        if token is None:
            raise DependsError(expression, None, restricted=False)
        index += 1
        return token

    def disjunction() -> None:
        conjunction()
        while peek() == "||":
            take()
            conjunction()

    def conjunction() -> None:
        unary()
        while peek() == "&&":
            take()
            unary()

    def unary() -> None:
        if peek() == "!":
            take()
            unary()
            return
        token = take()
        if token == "(":
            disjunction()
            if take() != ")":
                raise DependsError(expression, tokens[index - 1], restricted=False)
            return
        if token in ("&&", "||", ")"):
            raise DependsError(expression, token, restricted=False)
        name, _, result = token.partition(".")
        if result and result not in DEPENDS_RESULTS:
            raise _unknown_result(expression, token)
        names.append(name)

    if not tokens:
        return []
    disjunction()
    if index < len(tokens):
        raise DependsError(expression, tokens[index], restricted=False)
    return list(dict.fromkeys(names))


def _unknown_result(expression: str, token: str) -> DependsError:
    error = DependsError(expression, token, restricted=False)
    error.args = (
        f"depends {expression!r}: {token!r} tests an unknown result (use one of "
        f"{', '.join(sorted(DEPENDS_RESULTS))})",
    )
    return error
