"""Platform packages for the manifest-hook tests, installed into a folder as ``pip install``
leaves them: the package next to a ``<name>-<version>.dist-info`` folder holding ``METADATA``
and ``entry_points.txt``. With that folder on ``sys.path`` (in-process) or ``PYTHONPATH`` (a
``kedro argo …`` child), ``importlib.metadata.entry_points()`` finds the hooks exactly as it
finds an installed package's.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from pathlib import Path

from kedro_argo.manifest_hooks import ENTRY_POINT_GROUP

#: What Acme's registry hook puts in front of every image.
MIRROR = "mirror.acme.internal/"
SIDECAR = {"name": "log-shipper", "image": "ghcr.io/acme/log-shipper:2.1"}
SECURITY = {"runAsNonRoot": True, "runAsUser": 1000, "fsGroup": 1000}
RESOURCES = {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "4Gi"}}

ACME_HOOKS = '''\
"""Acme's platform rules for every Kedro workflow."""

import copy
import dataclasses
import json

from kedro_argo.manifest_hooks import workflow_spec

MIRROR = "mirror.acme.internal/"


def labels(manifest, context):
    """Labels on the object and on the workflows a CronWorkflow starts; the context, as JSON,
    in an annotation (so tests see exactly what the hook was given)."""
    metadata = manifest["metadata"]
    metadata["labels"]["platform.acme.io/tier"] = "batch"
    metadata["labels"]["platform.acme.io/kind"] = context.kind
    metadata["annotations"]["platform.acme.io/context"] = json.dumps(
        dataclasses.asdict(context), sort_keys=True
    )
    if manifest["kind"] == "CronWorkflow":
        manifest["spec"]["workflowMetadata"]["labels"]["platform.acme.io/tier"] = "batch"
    return manifest


def security(manifest, context):
    """Non-root pods; changes the manifest in place and returns None."""
    workflow_spec(manifest)["securityContext"] = {
        "runAsNonRoot": True,
        "runAsUser": 1000,
        "fsGroup": 1000,
    }


def defaults(manifest, context):
    """Default resources and an environment variable for every pod; a log-shipping sidecar
    on the cluster (local mode has no pod to share)."""
    spec = workflow_spec(manifest)
    container = spec["templateDefaults"]["container"]
    container.setdefault(
        "resources",
        {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "4Gi"}},
    )
    where = "local" if context.for_local else "cluster"
    container["env"].append({"name": "ACME_PLATFORM", "value": f"{context.kind}:{where}"})
    if not context.for_local:
        for template in spec["templates"]:
            if "container" in template:
                template["sidecars"] = [
                    {"name": "log-shipper", "image": "ghcr.io/acme/log-shipper:2.1"}
                ]
    return manifest


def registry(manifest, context):
    """Every image through Acme's pull-through mirror: a new manifest, the given one kept."""
    out = copy.deepcopy(manifest)
    spec = workflow_spec(out)
    containers = [spec["templateDefaults"]["container"]]
    for template in spec["templates"]:
        containers += [template.get("container") or {}, *template.get("sidecars", [])]
    for container in containers:
        image = container.get("image")
        if image and not image.startswith(MIRROR):
            container["image"] = MIRROR + image
    return out
'''
ACME_ENTRY_POINTS = {
    "acme-defaults": "acme_platform.hooks:defaults",
    "acme-labels": "acme_platform.hooks:labels",
    "acme-registry": "acme_platform.hooks:registry",
    "acme-security": "acme_platform.hooks:security",
}

BROKEN_HOOKS = '''\
"""Hooks that break their contract, one way each."""


def explode(manifest, context):
    return manifest["metadata"]["owner"]  # KeyError: no such key


def wrong_type(manifest, context):
    return [manifest]


def bad_label(manifest, context):
    manifest["metadata"]["labels"]["platform.acme.io/team"] = "data science!"


def retype(manifest, context):
    return {**manifest, "kind": "Pod", "apiVersion": "v1"}


def unplain(manifest, context):
    manifest["metadata"]["annotations"]["platform.acme.io/teams"] = {"data", "ml"}


def mislabelled(manifest, context):
    manifest["metadata"]["labels"] = ["platform.acme.io/tier=batch"]


def misshapen(manifest, context):
    manifest["spec"]["arguments"] = ["--tier=batch"]


NOT_CALLABLE = {"tier": "batch"}
'''
UNIMPORTABLE = """\
raise ImportError("acme_broken.unimportable needs acme-sdk>=3")
"""


def named(*hooks: str) -> str:
    """How notes and errors name Acme's hooks: ``'acme-labels' (acme_platform.hooks:labels)``."""
    return ", ".join(f"'{name}' ({ACME_ENTRY_POINTS[name]})" for name in hooks)


#: The note every command prints with Acme's platform installed.
APPLIED = "Note: manifest hooks applied, in this order: " + named(*sorted(ACME_ENTRY_POINTS))


def dist_info_name(name: str) -> str:
    """The normalised project name a wheel's ``.dist-info`` folder carries."""
    return re.sub(r"[-_.]+", "_", name).lower()


def install(
    site: Path,
    name: str,
    modules: Mapping[str, str],
    entry_points: Mapping[str, str],
    version: str = "1.0",
) -> Path:
    """Write distribution ``name`` into ``site``: ``modules`` maps a module path
    (``acme_platform/hooks.py``) to its source (packages get an ``__init__.py``),
    ``entry_points`` maps hook names to ``module:attr``. Returns the ``.dist-info`` folder."""
    for relative, source in modules.items():
        path = site / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        for parent in path.relative_to(site).parents:
            if parent != Path() and not (site / parent / "__init__.py").exists():
                (site / parent / "__init__.py").write_text("")
        path.write_text(textwrap.dedent(source))
    info = site / f"{dist_info_name(name)}-{version}.dist-info"
    info.mkdir(parents=True)
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
    lines = [f"[{ENTRY_POINT_GROUP}]", *(f"{k} = {v}" for k, v in entry_points.items())]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    (info / "top_level.txt").write_text(
        "\n".join(sorted({m.split("/", 1)[0].removesuffix(".py") for m in modules})) + "\n"
    )
    return info


def install_acme(site: Path) -> None:
    install(site, "acme-platform", {"acme_platform/hooks.py": ACME_HOOKS}, ACME_ENTRY_POINTS)


def install_broken(site: Path, hook: str, target: str) -> None:
    """One broken hook, named ``hook``, pointing at ``target`` in ``acme_broken``."""
    install(
        site,
        "acme-broken",
        {"acme_broken/hooks.py": BROKEN_HOOKS, "acme_broken/unimportable.py": UNIMPORTABLE},
        {hook: target},
    )


def top_level_modules(site: Path) -> set[str]:
    """The modules the distributions in ``site`` provide (to forget them after a test)."""
    names = set()
    for top in site.glob("*.dist-info/top_level.txt"):
        names.update(line.strip() for line in top.read_text().splitlines() if line.strip())
    return names
