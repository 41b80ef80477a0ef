"""Shared test set-up: environment that must exist before cloud libraries load, and fixtures."""

from __future__ import annotations

import os

# Before anything imports gcsfs/google-auth/botocore (children inherit these):
# - gcsfs >= 2026.3 otherwise probes every bucket over a gRPC API no emulator has (~60 s a call);
# - google-auth and botocore otherwise probe cloud metadata servers beyond loopback.
os.environ["GCSFS_EXPERIMENTAL_ZB_HNS_SUPPORT"] = "false"
os.environ["NO_GCE_CHECK"] = "true"
os.environ["AWS_EC2_METADATA_DISABLED"] = "true"

# Importing the fixtures here registers them for every test. tests/ is a package or a sys.path
# entry depending on whether tests/__init__.py exists; support both.
if __package__:
    from .servers import fake_gcs, gcs_bucket, moto_s3, object_store_root, s3_bucket
else:
    from servers import fake_gcs, gcs_bucket, moto_s3, object_store_root, s3_bucket

__all__ = ["fake_gcs", "gcs_bucket", "moto_s3", "object_store_root", "s3_bucket"]
