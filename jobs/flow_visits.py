"""Stage: clean settlement lines summed to visits with their pair, month and attributes."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
