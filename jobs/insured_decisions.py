"""Stage: each insured region's decision view (home use counted once) and its schemes."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
