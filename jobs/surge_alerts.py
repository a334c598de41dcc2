"""Stage: institutions whose cross-region billing rose by alerts.surge_pct or more."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
