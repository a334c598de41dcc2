"""Stage: the review queue, ordered by the money billed under each unreviewed item."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
