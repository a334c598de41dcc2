"""Stage: map settlement rows through the billing region's catalog and clean them."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
