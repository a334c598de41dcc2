"""Stage: read the national item library into the `national_items` table."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
