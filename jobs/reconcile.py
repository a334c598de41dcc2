"""Stage: per input file and region, input rows and fees = clean + quarantined (reconciliation)."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
