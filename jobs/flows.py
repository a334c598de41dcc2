"""Stage: flow panel, OD shares, balance, concentration, distance decay, travellers, costs."""

from catalogbridge.pipeline.cli import stage_main

main = stage_main(__file__)

if __name__ == "__main__":
    raise SystemExit(main())
