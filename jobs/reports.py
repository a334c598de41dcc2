"""Stage: an HTML report and a workbook per insured region, the national overview and an index."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
