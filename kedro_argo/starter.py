"""The ``kedro.starters`` entry point: ``kedro new --starter argo-spaceflights``.

The starter is a cookiecutter template shipped in the wheel (``templates/starter``), so
``kedro new`` needs no network. Its post-generation hook writes argo.yml, the Dockerfile and
the GitHub workflow with :func:`kedro_argo.scaffold.finish_starter_project`, the code of
``kedro argo init --with-dockerfile --with-github-actions``.
"""

from __future__ import annotations

from kedro.framework.cli.starters import KedroStarterSpec

from kedro_argo.scaffold import starter_template_path

STARTER_ALIAS = "argo-spaceflights"

starters = [KedroStarterSpec(alias=STARTER_ALIAS, template_path=starter_template_path())]
