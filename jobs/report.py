"""Stage: the published Figure 1 chart per pair, the decision charts and the run summary."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
