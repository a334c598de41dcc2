"""Stage: the published tables (small visit counts suppressed, audited) and their CSV exports."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
