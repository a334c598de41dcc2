"""Stage: inclusion schemes by visit threshold (Table 4) and class summaries (Tables 2-3)."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
