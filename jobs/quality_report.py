"""Stage: the data-quality report of a run: JSON and Markdown, compared with the previous run."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
