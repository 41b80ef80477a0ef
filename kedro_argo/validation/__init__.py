"""Offline validation of Argo v4 manifests against the published CRD schemas (issue 11)."""
