"""Stage: Excel-friendly CSV exports, one scheme chart per pair, and a run summary."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
