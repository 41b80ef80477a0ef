"""Runs in the new project's folder once cookiecutter has rendered it.

Adds what a wheel cannot ship as template files (dotfiles, empty folders), then writes
conf/base/argo.yml, the Dockerfile, .dockerignore and the GitHub workflow with the code of
``kedro argo init --with-dockerfile --with-github-actions``: one set of templates for both.
Cookiecutter renders this file first; the values arrive as JSON strings.
"""

import json
import sys
from pathlib import Path

from kedro_argo.errors import KedroArgoError
from kedro_argo.scaffold import describe, finish_starter_project


def main() -> int:
    # fmt: off
    # Raw *single-quoted* strings on purpose: tojson writes a double-quoted JSON string and
    # escapes ' as \u0027, so no value can end the Python string early.
    values = {
        "project_name": json.loads(r'{{ cookiecutter.project_name | tojson }}'),
        "package_name": json.loads(r'{{ cookiecutter.python_package | tojson }}'),
        "image": json.loads(r'{{ cookiecutter.image | tojson }}'),
        "data_root": json.loads(r'{{ cookiecutter.data_root | tojson }}') or None,
    }
    # fmt: on
    try:
        result = finish_starter_project(Path.cwd(), **values)
    except KedroArgoError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        return 1
    for line in describe(result):
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
