"""Run every stage in order with one Spark session.

    python -m jobs.run_pipeline --conf conf/local.yaml [--set key=value ...]
    spark-submit jobs/run_pipeline.py --conf conf/cluster.yaml
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

if __package__ in (None, ""):  # run as a script by spark-submit: make `jobs` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from catalogbridge.pipeline.cli import run_main


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, __doc__ or "")


if __name__ == "__main__":
    raise SystemExit(main())
