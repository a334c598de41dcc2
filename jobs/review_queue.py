"""Stage 3b: the review queue, ordered by the money billed under each unreviewed item.

Runs after cleaning because fees and visits are only known from `settlements_clean`.
Writes the `review_queue` table and `exports/review_queue.csv` (UTF-8 with BOM for Excel);
reviewers fill its decision columns and point `matching.decisions_path` at the saved file.
"""

from __future__ import annotations

from collections.abc import Sequence

from catalogbridge.review import review_queue
from jobs.stage import StageContext, run_main


def run(ctx: StageContext) -> None:
    store = ctx.store
    queue = review_queue(store.read("catalog_mapping"), store.read("settlements_clean"),
                         store.read("national_items"))
    # One ordered file: the queue is catalog-sized and readers expect queue_rank order.
    store.write(queue.coalesce(1), "review_queue")
    store.export_csv(store.read("review_queue").orderBy("queue_rank"), "review_queue")


def main(argv: Sequence[str] | None = None) -> int:
    return run_main(argv, __doc__ or "", run)


if __name__ == "__main__":
    raise SystemExit(main())
