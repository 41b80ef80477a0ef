"""spaceflights: the sample Kedro project of kedro-argo."""

__version__ = "0.1"
