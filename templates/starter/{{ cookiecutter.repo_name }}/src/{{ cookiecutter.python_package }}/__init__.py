"""{{ cookiecutter.project_name }}: a Kedro project that runs on Argo Workflows (kedro-argo)."""

__version__ = "0.1"
