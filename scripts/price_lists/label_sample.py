"""Draw a stratified random sample of zlhis_cq.tsv rows for hand labelling.

Writes labels/zlhis_cq.todo.tsv: each sampled row with its local name and every item of the
national sample library in the same 6-digit section, so a person can label it by hand.
Only the first 6 digits of the local code (chapter + section) follow the national spec. Where the
national spec splits a section into sub-sections (2101xx, 2501xx, 3104xx, 3310xx ...) the local
list collapses them into xxxx00, so for a local xxxx00 section the items of the other
xxxxNN sections are listed in a separate column.
"""

import csv
import random
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCE = ROOT / "data/price_lists/zlhis_cq.tsv"
LIBRARY = Path("/work/shared/data/nhsa/national_items_sample.tsv")
OUT = Path(__file__).resolve().parent / "labels/zlhis_cq.todo.tsv"
SEED = 20261202
SIZE = 400
MIN_PER_CHAPTER = 5
COLUMNS = ("row", "local_code", "local_name", "price", "unit")


def read_tsv(path):
    with path.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f, delimiter="\t"))


def allocate(counts, size, minimum):
    """Proportional allocation (largest remainder) with a floor of `minimum` per stratum."""
    fixed = {}
    while True:
        free = {k: n for k, n in counts.items() if k not in fixed}
        left = size - sum(fixed.values())
        total = sum(free.values())
        quota = {k: n * left / total for k, n in free.items()}
        low = {k: min(minimum, counts[k]) for k, q in quota.items() if q < min(minimum, counts[k])}
        if not low:
            break
        fixed.update(low)
    alloc = {k: int(q) for k, q in quota.items()}
    rest = sorted(quota, key=lambda k: (alloc[k] - quota[k], k))
    for k in rest[: left - sum(alloc.values())]:
        alloc[k] += 1
    return {**alloc, **fixed}


def main():
    rows = read_tsv(SOURCE)
    by_chapter = defaultdict(list)
    for r in rows:
        by_chapter[r["local_code"][:2]].append(r)
    alloc = allocate({k: len(v) for k, v in by_chapter.items()}, SIZE, MIN_PER_CHAPTER)
    rng = random.Random(SEED)
    sample = []
    for chapter in sorted(by_chapter):
        sample += rng.sample(by_chapter[chapter], alloc[chapter])
    sample.sort(key=lambda r: int(r["row"]))

    by_section = defaultdict(list)
    by_prefix = defaultdict(list)
    for item in read_tsv(LIBRARY):
        by_section[item["nhsa_code"][2:8]].append(item)
        by_prefix[item["nhsa_code"][2:6]].append(item)

    OUT.parent.mkdir(parents=True, exist_ok=True)
    with OUT.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, delimiter="\t", lineterminator="\n")
        w.writerow([*COLUMNS, "section", "section_items", "subsection_items"])
        for r in sample:
            section = r["local_code"][:6]
            items = by_section[section]
            wider = by_prefix[section[:4]] if section.endswith("00") else []
            wider = [i for i in wider if i["nhsa_code"][2:8] != section]
            items, wider = (
                " | ".join(f"{i['nhsa_code']} {i['name']}" for i in x) for x in (items, wider)
            )
            w.writerow([*(r[k] for k in COLUMNS), section, items, wider])
    print(f"{len(sample)} rows -> {OUT}")
    for chapter in sorted(alloc):
        print(chapter, len(by_chapter[chapter]), alloc[chapter])


if __name__ == "__main__":
    main()
