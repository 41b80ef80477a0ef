"""Synthetic Kedro 1.x projects of N nodes, written to disk, for the compile benchmarks.

The shape is that of a large real project (many reuses of one modular pipeline):

* ``ingestion``: 4 nodes, ``raw_<k>`` (declared) → ``ingested_<k>`` (declared);
* ``modelling``: about N/40 namespaces ``ns_<i>`` of about 40 nodes each. A namespace is 4
  stages; inside a stage the nodes form a chain with some fan-in (every third node also loads
  the output of the node two back) over **undeclared** (free, in-memory) intermediates, so
  ``--group-by memory`` keeps a stage in one pod; stages are joined by declared tables
  (dataset factory ``{ns}.stage<s>_table``). Stages 0–1 are tagged ``group.<ns>_features``,
  stages 2–3 ``group.<ns>_models`` (so ``--group-by tag`` has groups); the first node loads
  the namespace's parameters;
* ``reporting``: 1 node joining every namespace's ``<ns>_summary`` into ``report``.

Exactly N nodes (N ≥ 9). Node functions are trivial and importable. ``argo.yml`` has an
image, an ``s3://`` data root and pod defaults.

    python benchmarks/synthetic.py 2000 /tmp/synth   # writes a project, prints its path
"""

from __future__ import annotations

import argparse
import textwrap
from dataclasses import dataclass
from pathlib import Path

PACKAGE = "synth"
INGESTION = 4
NAMESPACE_SIZE = 40
STAGES = 4


@dataclass(frozen=True)
class Shape:
    nodes: int
    namespaces: tuple[int, ...]  # nodes per namespace

    @property
    def description(self) -> str:
        sizes = sorted(set(self.namespaces))
        return (
            f"{INGESTION} ingestion + {len(self.namespaces)} namespaces of "
            f"{'/'.join(map(str, sizes))} nodes + 1 reporting"
        )


def shape(nodes: int) -> Shape:
    if nodes < INGESTION + 1 + STAGES:
        raise ValueError(f"at least {INGESTION + 1 + STAGES} nodes")
    rest = nodes - INGESTION - 1
    count = max(1, round(rest / NAMESPACE_SIZE))
    sizes = tuple(rest // count + (1 if i < rest % count else 0) for i in range(count))
    return Shape(nodes, sizes)


PYPROJECT = """\
[build-system]
requires = ["setuptools"]
build-backend = "setuptools.build_meta"

[project]
name = "{package}"
version = "0.1.0"
requires-python = ">=3.10"
dependencies = ["kedro>=1.0,<2", "kedro-datasets[pickle-pickledataset,json-jsondataset]"]

[tool.setuptools.packages.find]
where = ["src"]

[tool.kedro]
package_name = "{package}"
project_name = "{package}"
kedro_init_version = "{kedro_version}"
tools = "['None']"
example_pipeline = "False"
source_dir = "src"
"""

SETTINGS = """\
\"\"\"Project settings (Kedro defaults).\"\"\"

CONFIG_LOADER_ARGS = {"base_env": "base", "default_run_env": "local"}
"""

NODES = '''\
"""Trivial node functions: the benchmark measures compiling, not running."""


def ingest(raw):
    return raw


def step(*inputs):
    return inputs[0] if inputs else None


def report(*summaries):
    return len(summaries)
'''

PIPELINES = '''\
"""The project's pipelines, built from its shape (see benchmarks/synthetic.py)."""

from kedro.pipeline import Pipeline, node

from {package}.nodes import ingest, report, step

INGESTION = {ingestion}
NAMESPACES = {namespaces!r}  # nodes per namespace
STAGES = {stages}


def namespace_name(i):
    return f"ns_{{i:04d}}"


def ingestion():
    return Pipeline(
        [
            node(ingest, f"raw_{{k}}", f"ingested_{{k}}", name=f"ingest_{{k}}")
            for k in range(INGESTION)
        ]
    )


def stage_sizes(size):
    return [size // STAGES + (1 if s < size % STAGES else 0) for s in range(STAGES)]


def modular(ns, size):
    """One namespace: STAGES stages of chained nodes over free intermediates."""
    nodes = []
    for s, count in enumerate(stage_sizes(size)):
        tag = f"group.{{ns}}_{{'features' if s < STAGES // 2 else 'models'}}"
        for j in range(count):
            if j == 0:
                inputs = ["source", "params:model_options"] if s == 0 else [f"stage{{s - 1}}_table"]
            else:
                inputs = [f"s{{s}}_{{j - 1}}"]
                if j % 3 == 0 and j >= 2:
                    inputs.append(f"s{{s}}_{{j - 2}}")  # fan-in
            last = j == count - 1
            if last:
                output = "summary" if s == STAGES - 1 else f"stage{{s}}_table"
            else:
                output = f"s{{s}}_{{j}}"  # undeclared: a free in-memory dataset
            nodes.append(node(step, inputs, output, name=f"stage{{s}}_{{j}}", tags=[tag]))
    return Pipeline(nodes)


def modelling():
    return Pipeline(
        [
            Pipeline(
                modular(namespace_name(i), size),
                namespace=namespace_name(i),
                inputs={{"source": f"ingested_{{i % INGESTION}}"}},
                outputs={{"summary": f"{{namespace_name(i)}}_summary"}},
            )
            for i, size in enumerate(NAMESPACES)
        ]
    )


def reporting():
    summaries = [f"{{namespace_name(i)}}_summary" for i in range(len(NAMESPACES))]
    return Pipeline([node(report, summaries, "report", name="report")])
'''

REGISTRY = '''\
"""Project pipelines."""

from kedro.pipeline import Pipeline

from {package}.pipelines import ingestion, modelling, reporting


def register_pipelines():
    parts = {{"ingestion": ingestion(), "modelling": modelling(), "reporting": reporting()}}
    return {{**parts, "__default__": Pipeline(list(parts.values()))}}
'''

CATALOG_HEAD = """\
# Declared files (dataset factories first); raw_<k> and ingested_<k> follow.
"{name}_summary":
  type: json.JSONDataset
  filepath: data/08_reporting/{name}_summary.json

"{ns}.stage{s}_table":
  type: pickle.PickleDataset
  filepath: data/03_primary/{ns}/stage{s}.pickle

report:
  type: json.JSONDataset
  filepath: data/08_reporting/report.json
"""

ARGO = """\
image: ghcr.io/example/synth:1.0.0
data:
  root: s3://bucket/x
nodes:
  defaults:
    resources: {cpu: "1", memory: 2Gi}
    retry: {limit: 2, policy: OnFailure}
"""


def write_project(target: Path, nodes: int) -> Path:
    """A Kedro project of exactly ``nodes`` nodes at ``target`` (created)."""
    import kedro

    shp = shape(nodes)
    package = target / "src" / PACKAGE
    package.mkdir(parents=True)
    for folder in ("conf/base", "conf/local", "data"):
        (target / folder).mkdir(parents=True, exist_ok=True)
    (target / "pyproject.toml").write_text(
        PYPROJECT.format(package=PACKAGE, kedro_version=kedro.__version__)
    )
    (package / "__init__.py").write_text('__version__ = "0.1.0"\n')
    (package / "settings.py").write_text(SETTINGS)
    (package / "nodes.py").write_text(NODES)
    (package / "pipelines.py").write_text(
        PIPELINES.format(
            package=PACKAGE, ingestion=INGESTION, namespaces=shp.namespaces, stages=STAGES
        )
    )
    (package / "pipeline_registry.py").write_text(REGISTRY.format(package=PACKAGE))
    catalog = [CATALOG_HEAD]
    for k in range(INGESTION):
        for name, folder in ((f"raw_{k}", "01_raw"), (f"ingested_{k}", "02_intermediate")):
            catalog.append(
                f"{name}:\n  type: pickle.PickleDataset\n  filepath: data/{folder}/{name}.pickle\n"
            )
    (target / "conf/base/catalog.yml").write_text("\n".join(catalog))
    params = [
        f"ns_{i:04d}:\n  model_options: {{test_size: 0.2, random_state: {i}}}\n"
        for i in range(len(shp.namespaces))
    ]
    (target / "conf/base/parameters.yml").write_text("".join(params))
    (target / "conf/base/argo.yml").write_text(ARGO)
    (target / "README.md").write_text(
        textwrap.dedent(f"""\
            # synth: {nodes} nodes

            Generated by benchmarks/synthetic.py: {shp.description}.
            """)
    )
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("nodes", type=int)
    parser.add_argument("target", type=Path)
    args = parser.parse_args()
    print(write_project(args.target, args.nodes))
    print(shape(args.nodes).description)


if __name__ == "__main__":
    main()
