"""Jinja2 scaffolds rendered by `kedro argo init` (shipped inside the wheel)."""
