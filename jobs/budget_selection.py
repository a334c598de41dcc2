"""Stage: the budget-optimal item sets under every cap, beside the threshold schemes."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
