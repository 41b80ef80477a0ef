"""Rebuild kedro_argo/validation/schemas/ from Argo Workflows' full CRDs of a release.

    python scripts/refresh_argo_schemas.py v4.1.2 [--from DIR]

Downloads ``manifests/base/crds/full/argoproj.io_<plural>.yaml`` of the tag from GitHub (or
reads them from DIR, e.g. a checkout) and writes ``<Kind>.strict.json``: the CRD's
``openAPIV3Schema`` made strict (see the README beside the schemas).
"""

from __future__ import annotations

import argparse
import json
import sys
import urllib.request
from pathlib import Path
from typing import Any

import yaml

KINDS = {
    "Workflow": "workflows",
    "WorkflowTemplate": "workflowtemplates",
    "ClusterWorkflowTemplate": "clusterworkflowtemplates",
    "CronWorkflow": "cronworkflows",
}
TARGET = Path(__file__).resolve().parents[1] / "kedro_argo" / "validation" / "schemas"
URL = "https://raw.githubusercontent.com/argoproj/argo-workflows/{tag}/manifests/base/crds/full/argoproj.io_{plural}.yaml"
KEPT = (
    "type",
    "required",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
)


def strict(schema: Any) -> Any:
    """The strict form of one OpenAPI v3 schema node (recursively)."""
    if not isinstance(schema, dict):
        return schema
    if schema.get("x-kubernetes-int-or-string"):
        return {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    out: dict[str, Any] = {k: schema[k] for k in KEPT if k in schema}
    if "properties" in schema:
        out["properties"] = {k: strict(v) for k, v in schema["properties"].items()}
        if not schema.get("x-kubernetes-preserve-unknown-fields"):
            out["additionalProperties"] = False
    if isinstance(schema.get("additionalProperties"), dict):
        out["additionalProperties"] = strict(schema["additionalProperties"])
    elif schema.get("additionalProperties") is True:
        out["additionalProperties"] = True
    if "items" in schema:
        out["items"] = strict(schema["items"])
    for key in ("allOf", "anyOf", "oneOf"):
        if key in schema:
            out[key] = [strict(s) for s in schema[key]]
    rules = [
        {k: r[k] for k in ("rule", "message") if k in r}
        for r in schema.get("x-kubernetes-validations") or []
    ]
    if rules:
        out["x-kubernetes-validations"] = rules
    return out


def compile_crd(crd: dict[str, Any], *, source: str) -> dict[str, Any]:
    """A CRD document → the strict JSON schema of its served version."""
    versions = crd["spec"]["versions"]
    served = next(v for v in versions if v.get("served", True))
    schema = strict(served["schema"]["openAPIV3Schema"])
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$comment": f"Generated from {source} (Apache-2.0). strict: unknown fields rejected.",
        **schema,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("tag", help="Argo Workflows release tag, e.g. v4.1.2")
    parser.add_argument("--from", dest="source", type=Path, help="folder holding the CRD files")
    args = parser.parse_args(argv)
    for kind, plural in KINDS.items():
        name = f"argoproj.io_{plural}.yaml"
        if args.source is not None:
            text = (args.source / name).read_text(encoding="utf-8")
        else:
            with urllib.request.urlopen(URL.format(tag=args.tag, plural=plural), timeout=60) as r:
                text = r.read().decode()
        crd = yaml.safe_load(text)
        source = f"argoproj/argo-workflows {args.tag} manifests/base/crds/full/{name}"
        schema = compile_crd(crd, source=source)
        (TARGET / f"{kind}.strict.json").write_text(json.dumps(schema, indent=1) + "\n")
        print(f"wrote {kind}.strict.json", file=sys.stderr)
    print(
        f"now set ARGO_VERSION = {args.tag!r} in kedro_argo/validation/__init__.py", file=sys.stderr
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
