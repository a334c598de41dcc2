"""Stage: yearly budget impact, tornado data and Monte Carlo intervals of every unit."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
