"""Stage: the flow tables drawn (matrix, balance, monthly trend, distance decay, top alerts)."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
