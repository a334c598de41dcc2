"""Stage: discrepant items per pair: covered where treated, not covered where insured."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
