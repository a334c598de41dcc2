"""Stage 4: visits and fees per insured region, treatment region and national item."""

from __future__ import annotations

from collections.abc import Sequence

from catalogbridge.analysis import item_stats
from jobs.stage import StageContext, run_main


def run(ctx: StageContext) -> None:
    ctx.store.write(ctx.store.read("settlements_clean").transform(item_stats), "item_stats")


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, __doc__ or "", run)


if __name__ == "__main__":
    raise SystemExit(main())
