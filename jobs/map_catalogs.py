"""Stage: map every provincial catalog item to a national code (catalog_mapping)."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
