"""Errors users can act on.

Every error the plugin raises on purpose derives from :class:`KedroArgoError`; the CLI turns
those (and only those) into one ``Error: ...`` line and a non-zero exit, with no traceback.
Messages say what is wrong and what to do about it.
"""

from __future__ import annotations


class KedroArgoError(Exception):
    """Base class: a problem the user can fix; its message is shown as is."""


class ConfigError(KedroArgoError):
    """``argo.yml`` is missing, unreadable or invalid."""


class ProjectError(KedroArgoError):
    """The Kedro project cannot be loaded, or a pipeline/node/parameter is unknown."""


class CompileError(KedroArgoError):
    """The pipeline cannot become a manifest that Argo would accept."""


class ManifestError(KedroArgoError):
    """A manifest (compiled or read from a file) breaks a rule Argo enforces."""


class OutputError(KedroArgoError):
    """A file the command was asked to write cannot be written."""


class IntermediateDataError(KedroArgoError):
    """An intermediate dataset is missing, truncated, corrupt or of an unknown format."""


class LocalRunError(KedroArgoError):
    """Local mode cannot run the manifest (unsupported feature) or the run failed."""


class ArgoServerError(KedroArgoError):
    """The Argo Server is unreachable or answered with an error."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status
