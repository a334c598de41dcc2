"""Stage: visits and fees per insured region, treatment region and national item."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
