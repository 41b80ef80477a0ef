"""``python -m kedro_argo``: the in-pod entrypoint (see :mod:`kedro_argo.runtime.entrypoint`)."""

from kedro_argo.runtime.entrypoint import main

if __name__ == "__main__":
    raise SystemExit(main())
