"""Stage 1: read the national item library into the `national_items` table."""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import functions as F

from catalogbridge.contracts import NATIONAL_ITEMS
from catalogbridge.io import InputError, read_input
from catalogbridge.mapping import national_library_table
from jobs.stage import StageContext, run_main


def run(ctx: StageContext) -> None:
    spec = ctx.cfg.inputs.national_items
    national = read_input(ctx.spark, spec, NATIONAL_ITEMS).transform(national_library_table)
    dupes = (national.groupBy("national_code").agg(F.countDistinct("national_name").alias("n"))
             .where("n > 1").limit(5).collect())
    if dupes:
        codes = ", ".join(r["national_code"] for r in dupes)
        raise InputError(f"inputs.national_items ({spec.path}): column item_code lists the same "
                         f"code with different names ({codes}); keep one row per code")
    ctx.store.write(national.dropDuplicates(["national_code"]), "national_items")


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, __doc__ or "", run)


if __name__ == "__main__":
    raise SystemExit(main())
