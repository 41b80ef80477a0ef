"""Platform hooks: installed packages adjust every manifest kedro-argo builds, before it is
checked.

A platform team ships one small package that declares a function in the entry-point group
``kedro_argo.manifest_hooks``::

    [project.entry-points."kedro_argo.manifest_hooks"]
    acme-defaults = "acme_platform.hooks:apply"

and every project of every team that installs it gets the same labels, security context,
sidecars, default resources or image registry, without a line in ``argo.yml``.

A hook is ``hook(manifest: dict, context: HookContext) -> dict | None``: it returns the
manifest (changed, or a new dict), or ``None`` after changing it in place. ``manifest`` is the
plain-data manifest compile made (only ``dict``, ``list``, ``str``, ``int``, ``float``,
``bool`` and ``None``, no shared parts), exactly what is written as YAML or sent to Argo::

    {"apiVersion": "argoproj.io/v1alpha1",
     "kind": "Workflow" | "WorkflowTemplate" | "CronWorkflow",
     "metadata": {"generateName": "…-" (a Workflow without a name) | "name": "…",
                  "namespace": "…" (when argo.yml sets one),
                  "labels": {…}, "annotations": {…}},
     "spec": WORKFLOW_SPEC                              # Workflow, WorkflowTemplate
           | {"schedules": [...], …,                     # CronWorkflow
              "workflowMetadata": {"labels": {…}}, "workflowSpec": WORKFLOW_SPEC}}

    WORKFLOW_SPEC = {"entrypoint": "kedro-pipeline", "arguments": {…}, "onExit": …, …,
                     "templateDefaults": {"container": {"image", "imagePullPolicy",
                                                        "workingDir", "env": [...]}},
                     "templates": [DAG templates, then step templates ({"name", "inputs",
                                   "metadata", "container": {"command", "args",
                                   "resources", …}, "retryStrategy", …}), exit handler]}

(:func:`workflow_spec` finds ``WORKFLOW_SPEC`` whatever the kind.)

Hooks run sorted by entry-point name, each on the previous one's result; the compiler's own
manifest is checked first, then each hook's result, with the same rules compile always applies
(the ``check`` :func:`apply_hooks` is given), so an error names the hook that caused it. Only
:func:`installed_hooks` touches the outside world (entry points, the environment, imports);
:func:`apply_hooks` is pure given the hooks, so identical input gives byte-identical output.
``KEDRO_ARGO_DISABLE_MANIFEST_HOOKS=all`` (or ``=name1,name2``) turns hooks off.
"""

from __future__ import annotations

import math
import os
import sys
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from kedro_argo.errors import CompileError, KedroArgoError

__all__ = [
    "DISABLE_ENV",
    "ENTRY_POINT_GROUP",
    "HookContext",
    "HookSelection",
    "ManifestHook",
    "ManifestHookError",
    "apply_hooks",
    "installed_hooks",
    "workflow_spec",
]

#: The entry-point group a platform package declares its hooks in.
ENTRY_POINT_GROUP = "kedro_argo.manifest_hooks"
#: ``all``, or entry-point names separated by commas: those hooks are neither loaded nor run.
DISABLE_ENV = "KEDRO_ARGO_DISABLE_MANIFEST_HOOKS"

_MESSAGE_LIMIT = 300  # characters of a hook's exception message shown in the one error line


@dataclass(frozen=True)
class HookContext:
    """What a platform needs to decide, beside the manifest itself.

    Deliberately not which command runs: ``compile``, ``run-once``, ``schedule``, ``upload``
    and ``run-local`` must get the same manifest for the same input.

    Attributes:
        kind: ``workflow``, ``template`` or ``cron`` (``--kind``; the manifest's ``kind`` is
            the Argo name: ``Workflow``, ``WorkflowTemplate``, ``CronWorkflow``).
        project_name: The Kedro project's name.
        pipeline_name: The compiled registered pipeline, e.g. ``__default__``.
        env: The Kedro environment (``--env``, else ``KEDRO_ENV``); None: Kedro's default.
        namespace: The namespace argo.yml targets (``server.namespace``, else ``namespace``);
            None when the connection decides (``ARGO_NAMESPACE``, the kubeconfig context,
            else ``argo``).
        image: The image every pod runs (``--image``, else argo.yml's ``image``), before any
            hook.
        commit_id: The git commit compiled (``-dirty`` when the tree had changes), as in the
            manifest.
        for_local: True for ``kedro argo run-local``: the manifest runs here, a process per
            step. Local mode ignores cluster-only fields (labels, securityContext, resources,
            image) and refuses what it cannot do (sidecars, init containers, volumes): a hook
            adding those leaves them out here.
    """

    kind: Literal["workflow", "template", "cron"]
    project_name: str
    pipeline_name: str
    env: str | None
    namespace: str | None
    image: str
    commit_id: str
    for_local: bool = False


Hook = Callable[[dict[str, Any], HookContext], dict[str, Any] | None]


@dataclass(frozen=True)
class ManifestHook:
    """One hook.

    Attributes:
        name: The entry-point name (what orders hooks and what disabling names).
        target: ``module:attr``, as the entry point says.
        function: ``function(manifest, context) -> dict | None``.
    """

    name: str
    target: str
    function: Hook

    @property
    def label(self) -> str:
        """How messages name it: ``'acme-defaults' (acme_platform.hooks:apply)``."""
        return f"'{self.name}' ({self.target})"


@dataclass(frozen=True)
class HookSelection:
    """The hooks to apply, in order, and what the disabling variable left out.

    Attributes:
        hooks: Applied in this order.
        disabled: Installed hooks the variable disabled (not loaded), as ``'name' (target)``.
        unknown: Names in the variable that no installed hook has (a typo must not go
            unnoticed).
    """

    hooks: tuple[ManifestHook, ...] = ()
    disabled: tuple[str, ...] = ()
    unknown: tuple[str, ...] = ()

    def notes(self) -> tuple[str, ...]:
        """What the commands print as ``Note:`` lines (nothing when no hook is installed)."""
        out = []
        if self.hooks:
            out.append(
                "manifest hooks applied, in this order: "
                + ", ".join(hook.label for hook in self.hooks)
            )
        if self.disabled:
            out.append(f"manifest hooks disabled by {DISABLE_ENV}: {', '.join(self.disabled)}")
        if self.unknown:
            out.append(
                f"{DISABLE_ENV} names {', '.join(repr(n) for n in self.unknown)}, which no "
                f"installed manifest hook is called (entry-point group {ENTRY_POINT_GROUP})"
            )
        return tuple(out)


class ManifestHookError(CompileError):
    """A manifest hook cannot be loaded, failed, or made something Argo would refuse."""


def workflow_spec(manifest: Mapping[str, Any]) -> dict[str, Any]:
    """The workflow spec of any manifest compile makes: ``spec``, or a CronWorkflow's
    ``spec.workflowSpec`` (where templates, templateDefaults and securityContext live)."""
    spec = manifest["spec"]
    return spec["workflowSpec"] if manifest.get("kind") == "CronWorkflow" else spec


# --------------------------------------------------------------------------- discovery (I/O)


def installed_hooks(environ: Mapping[str, str] | None = None) -> HookSelection:
    """The hooks of installed distributions, sorted by entry-point name (then ``module:attr``)
    so the order never depends on how packages were installed, minus those
    :data:`DISABLE_ENV` disables (which are not even imported: disabling a broken hook
    unblocks its users). The one function here that does I/O."""
    from importlib.metadata import entry_points

    environ = os.environ if environ is None else environ
    points = sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda ep: (ep.name, ep.value))
    everything, names = _disabled_names(environ.get(DISABLE_ENV, ""))
    installed = {ep.name for ep in points}
    hooks = []
    disabled = []
    for point in points:
        if everything or point.name in names:
            disabled.append(f"'{point.name}' ({point.value})")
        else:
            hooks.append(_load(point.name, point.value, point.load))
    return HookSelection(
        hooks=tuple(hooks),
        disabled=tuple(disabled),
        unknown=tuple(sorted(names - installed)),
    )


def _disabled_names(text: str) -> tuple[bool, frozenset[str]]:
    """``all`` (any case) or comma-separated entry-point names, spaces around them ignored."""
    names = frozenset(part.strip() for part in text.split(",") if part.strip())
    return any(n.lower() == "all" for n in names), frozenset(n for n in names if n.lower() != "all")


def _load(name: str, target: str, load: Callable[[], Any]) -> ManifestHook:
    try:
        function = load()
    except Exception as exc:
        raise ManifestHookError(
            f"Manifest hook '{name}' ({target}) cannot be loaded: {_describe(exc)} (fix or "
            f"reinstall the package that provides it, or set {DISABLE_ENV}={name} to go on "
            "without it)."
        ) from None
    if not callable(function):
        raise ManifestHookError(
            f"Manifest hook '{name}' ({target}) is not callable but {_type_name(function)}: "
            "point the entry point at a function hook(manifest, context)."
        )
    return ManifestHook(name=name, target=target, function=function)


# --------------------------------------------------------------------------- application (pure)


def apply_hooks(
    manifest: dict[str, Any],
    hooks: tuple[ManifestHook, ...],
    context: HookContext,
    *,
    check: Callable[[dict[str, Any]], None],
) -> dict[str, Any]:
    """``manifest`` through every hook in order. ``check`` (compile's checks: size and Argo's
    rules; raises :class:`~kedro_argo.errors.KedroArgoError`) runs on the compiler's own
    manifest first, so that its errors read as always and no hook is blamed for them, then
    on each hook's result, so that an error names the hook that caused it. With no hooks this
    is exactly one ``check``."""
    check(manifest)
    for hook in hooks:
        given = (manifest.get("apiVersion"), manifest.get("kind"))
        manifest = _run(hook, manifest, context)
        problem = _contract_problem(manifest, given) or _check_problem(manifest, check)
        if problem:
            raise ManifestHookError(
                f"Manifest hook '{hook.name}' ({hook.target}) produced an invalid manifest: "
                f"{problem}"
            )
    return manifest


def _run(hook: ManifestHook, manifest: dict[str, Any], context: HookContext) -> dict[str, Any]:
    """One hook, its exception or a result that is no manifest at all made one error line."""
    try:
        result = hook.function(manifest, context)
    except Exception as exc:
        raise ManifestHookError(
            f"Manifest hook '{hook.name}' ({hook.target}) raised {type(exc).__name__} at "
            f"{_raised_at(exc, hook)}: {_first_line(exc)}"
        ) from None
    if result is None:
        return manifest
    if type(result) is not dict:
        raise ManifestHookError(
            f"Manifest hook '{hook.name}' ({hook.target}) returned {_type_name(result)}, not a "
            "manifest mapping: return the manifest dict it was given (changed) or a new one, "
            "or None after changing it in place."
        )
    return result


def _contract_problem(result: dict[str, Any], given: tuple[Any, Any]) -> str | None:
    """The hook contract: the same apiVersion and kind, plain data (what YAML and the API
    take; a set or an enum would fail later, unnamed), string labels and annotations."""
    if (result.get("apiVersion"), result.get("kind")) != given:
        return (
            f"apiVersion/kind is {result.get('apiVersion')}/{result.get('kind')}, not the "
            f"{given[0]}/{given[1]} it was given (a hook adjusts the manifest; it cannot make "
            "another object of it)."
        )
    return _plain_data_problem(result) or _metadata_problem(result)


def _check_problem(manifest: dict[str, Any], check: Callable[[dict[str, Any]], None]) -> str | None:
    """Compile's checks on a hook's result, as a problem instead of an exception."""
    try:
        check(manifest)
    except KedroArgoError as exc:
        return str(exc)
    except Exception as exc:  # malformed beyond what the rules expect (a list for a dict)
        return _structure_problem(manifest, exc)
    return None


_SCALARS = (str, int, bool, type(None))


def _plain_data_problem(value: Any) -> str | None:
    """None if ``value`` is JSON data of exact built-in types, else where it is not (first in
    document order). A fast walk first; paths are only spelt out for the problem."""
    if _is_plain(value, set()):
        return None
    return _locate(value, "", set())


def _is_plain(value: Any, active: set[int]) -> bool:
    kind = type(value)
    if kind is dict or kind is list:
        if id(value) in active:
            return False  # a cycle
        active.add(id(value))
        if kind is dict:
            ok = all(type(k) is str and _is_plain(v, active) for k, v in value.items())
        else:
            ok = all(_is_plain(v, active) for v in value)
        active.discard(id(value))
        return ok
    if kind is float:
        return math.isfinite(value)
    return kind in _SCALARS


def _locate(value: Any, path: str, active: set[int]) -> str | None:
    where = path or "the manifest"
    kind = type(value)
    if kind is dict or kind is list:
        if id(value) in active:
            return f"{where} is one of the parts that hold it (a cycle), which YAML cannot hold."
        active.add(id(value))
        items = value.items() if kind is dict else enumerate(value)
        for key, item in items:
            if kind is dict and type(key) is not str:
                return f"{where} has the key {key!r} ({_type_name(key)}): keys are strings."
            sub = f"{path}[{key}]" if kind is list else (f"{path}.{key}" if path else key)
            found = _locate(item, sub, active)
            if found:
                return found
        active.discard(id(value))
        return None
    if kind is float and not math.isfinite(value):
        return f"{where} is {value}, which JSON cannot hold."
    if kind is float or kind in _SCALARS:
        return None
    return (
        f"{where} is {_type_name(value)}, not plain data (dict, list, str, int, float, bool "
        "or None)."
    )


def _metadata_problem(manifest: dict[str, Any]) -> str | None:
    """What every Kubernetes object must be and Argo's schema leaves open (``metadata`` is a
    bare object there): labels and annotations are what hooks change most."""
    for key in ("metadata", "spec"):
        if type(manifest.get(key)) is not dict:
            return f"{key} is {_type_name(manifest.get(key))}, not a mapping."
    spec = manifest["spec"]
    places = [("metadata", manifest["metadata"])]
    if manifest.get("kind") == "CronWorkflow" and "workflowMetadata" in spec:
        places.append(("spec.workflowMetadata", spec["workflowMetadata"]))
    for where, metadata in places:
        if type(metadata) is not dict:
            return f"{where} is {_type_name(metadata)}, not a mapping."
        for field in ("labels", "annotations"):
            values = metadata.get(field, {})
            if type(values) is not dict:
                return f"{where}.{field} is {_type_name(values)}, not a mapping of strings."
            for name, value in values.items():
                if type(value) is not str:
                    return (
                        f"{where}.{field}.{name} is {_type_name(value)}: label and annotation "
                        "values are strings."
                    )
    return None


def _structure_problem(manifest: dict[str, Any], exc: Exception) -> str:
    """The checks assume the shape Argo's schema describes; when a hook broke that shape,
    the schema says where (only on this failure path: it is slow on big manifests)."""
    from kedro_argo.validation.schema import schema_problems

    try:
        problems = [p for p in schema_problems(manifest) if p.level == "error"]
    except Exception:
        problems = []
    if problems:
        text = str(problems[0])
        return text if text.endswith((".", ")")) else f"{text}."
    return f"its structure is not what Argo expects ({type(exc).__name__}: {_first_line(exc)})."


def _raised_at(exc: BaseException, hook: ManifestHook) -> str:
    """``file:line`` of the innermost frame of the hook's own package (else the innermost)."""
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # [0] is our call of the hook
    if not frames:
        return hook.target
    top = sys.modules.get(hook.target.split(":", 1)[0].split(".", 1)[0])
    root = None
    if top is not None and getattr(top, "__file__", None):
        file = Path(top.__file__ or "")
        root = file.parent if hasattr(top, "__path__") else file
    own = [f for f in frames if root is not None and _within(Path(f.filename), root)]
    frame = (own or frames)[-1]
    return f"{frame.filename}:{frame.lineno}"


def _within(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


def _first_line(exc: BaseException) -> str:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    text = lines[0] if lines else "(no message)"
    return text if len(text) <= _MESSAGE_LIMIT else text[: _MESSAGE_LIMIT - 1] + "…"


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {_first_line(exc)}"


def _type_name(value: Any) -> str:
    if value is None:
        return "None"
    name = type(value).__name__
    return f"an {name}" if name[:1].lower() in "aeiou" else f"a {name}"
