"""Rebuild the region reference data (catalogbridge/flows/reference/regions.csv) from mirrors.

Usage::

    python scripts/region_reference/build.py --mirror-root /work/.mirror \
        --out catalogbridge/flows/reference/regions.csv

Every file named in ``sources.yaml`` is read with ``git --git-dir <mirror> show <commit>:<path>``:
populations from the 2020 census yearbook table and centroids from the boundary polygons of
``leiii_census``; the province and prefecture codes and names are checked against
``modood_divisions``. The output is deterministic: the same commits give the same bytes.
See the header of ``sources.yaml`` for what the rows mean and what was left out.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import math
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mirrors import git_show

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DEFAULT_OUT = ROOT / "catalogbridge/flows/reference/regions.csv"
COLUMNS = ["level", "code", "name", "province_code", "lat", "lon", "population",
           "population_year", "source"]
YEAR = 2020
MUNICIPALITIES = {"110000", "120000", "310000", "500000"}
SKIPPED_CHILDREN = {"市辖区", "县", "省直辖县级行政区划", "自治区直辖县级行政区划"}
RE_PROVINCE = re.compile(r"\d{2}0000")
RE_PREFECTURE = re.compile(r"\d{4}00")
RE_RING = re.compile(r"\(([^()]+)\)")  # innermost parentheses: one ring of a (MULTI)POLYGON
# Polygons left out of their province's centroid. 三沙's 208 polygons enclose reefs and lagoons
# (6,255 km² in the source against some 13 km² of land), 600-1,500 km south of Hainan Island:
# with them the centroid of 海南省 would lie about 150 km out at sea, south of 三亚.
NOT_IN_PROVINCE_CENTROID = {"460300"}


def mirror(src: dict, mirror_root: Path) -> Path:
    """The source's git directory, cloned from GitHub if it was not fetched (needs the network)."""
    git_dir = mirror_root / src["repo"].replace("/", "+") / "repo"
    if not git_dir.is_dir():
        print(f"[{src['id']}] cloning {src['repo']} into {git_dir}")
        subprocess.run(["git", "clone", "--bare", "--quiet",
                        f"https://github.com/{src['repo']}.git", str(git_dir)], check=True)
    return git_dir


def read(src: dict, mirror_root: Path, path: str) -> bytes:
    """One file of a source, at the source's commit."""
    if path not in {p["path"] for p in src["paths"]}:
        raise KeyError(f"[{src['id']}] {path} is not listed in sources.yaml")
    return git_show(mirror(src, mirror_root), src["commit"], path)


def yearbook_rows(data: bytes) -> pd.DataFrame:
    """Province and prefecture rows of the census yearbook table: code, province, city, population."""
    table = pd.read_excel(io.BytesIO(data), sheet_name="七普（年鉴）", dtype=str,
                          usecols=["区划代码", "省", "市", "人口数_合计"])
    table.columns = ["code", "province", "city", "population"]
    table = table[table["code"].notna()].copy()
    table["code"] = table["code"].str.strip()
    keep = table["code"].str.fullmatch(RE_PREFECTURE.pattern)  # dd0000 matches too
    table = table[keep].copy()
    table["population"] = table["population"].astype("int64")
    if table["code"].duplicated().any():
        raise ValueError(f"duplicate codes in the yearbook: {table[table['code'].duplicated()]}")
    return table


def rings(wkt: str) -> list[tuple[np.ndarray, bool]]:
    """(lon/lat vertices, is_exterior) for every ring of a WKT POLYGON or MULTIPOLYGON.

    The first ring of each polygon is its exterior (preceded by '(('), the others are holes.
    """
    found = []
    for m in RE_RING.finditer(wkt):
        pts = np.array([[float(v) for v in p.split()] for p in m.group(1).split(",")])
        found.append((pts, wkt[m.start() - 1] == "("))
    if not found:
        raise ValueError(f"no rings in WKT {wkt[:60]!r}")
    return found


def centroid(all_rings: list[tuple[np.ndarray, bool]]) -> tuple[float, float]:
    """Area-weighted centroid (lat, lon) of rings, in a local equirectangular projection."""
    lats = np.concatenate([r[:, 1] for r, _ in all_rings])
    k = math.cos(math.radians((lats.min() + lats.max()) / 2))
    area_sum = cx_sum = cy_sum = 0.0
    for pts, exterior in all_rings:
        x, y = pts[:, 0] * k, pts[:, 1]
        x1, y1 = np.roll(x, -1), np.roll(y, -1)
        cross = x * y1 - x1 * y
        a = cross.sum() / 2
        if a == 0:
            continue
        cx = ((x + x1) * cross).sum() / (6 * a)
        cy = ((y + y1) * cross).sum() / (6 * a)
        w = abs(a) if exterior else -abs(a)
        area_sum += w
        cx_sum += w * cx
        cy_sum += w * cy
    return cy_sum / area_sum, cx_sum / area_sum / k


def boundary_rings(data: bytes) -> dict[str, list[tuple[np.ndarray, bool]]]:
    """city_code -> rings of its boundary, from the `coord` column."""
    table = pd.read_csv(io.BytesIO(data), dtype=str, encoding="utf-8-sig",
                        usecols=["city_code", "coord"])
    return {code: rings(wkt) for code, wkt in zip(table["city_code"], table["coord"], strict=True)}


def official_divisions(data: bytes) -> dict[str, str]:
    """code (6 digits) -> name of every province and prefecture-level division."""
    names: dict[str, str] = {}
    for province in json.loads(data):
        names[province["code"] + "0000"] = province["name"]
        for child in province["children"]:
            if child["name"] not in SKIPPED_CHILDREN:
                names[child["code"] + "00"] = child["name"]
    return names


def build(sources: list[dict], mirror_root: Path) -> list[list[str]]:
    """The CSV's rows (without the header), checked against the code list."""
    by_id = {s["id"]: s for s in sources}
    census, divisions = by_id["leiii_census"], by_id["modood_divisions"]
    table = yearbook_rows(read(census, mirror_root, "data/census/census_county_2020_v1.xlsx"))
    shapes = boundary_rings(read(census, mirror_root, "data/census/census_city_2010-2020_v1.csv"))
    official = official_divisions(read(divisions, mirror_root, "dist/pca-code.json"))

    records: list[tuple[str, str, str, int]] = list(zip(
        table["code"].tolist(), table["province"].tolist(), table["city"].tolist(),
        table["population"].tolist(), strict=True))
    pop = {code: population for code, _, _, population in records}
    rows: list[list[str]] = []
    for code, province_name, city_name, population in records:
        province_code = code[:2] + "0000"
        if RE_PROVINCE.fullmatch(code):
            level, name = "province", province_name
            parts = [r for c, rs in shapes.items()
                     if c[:2] == code[:2] and c not in NOT_IN_PROVINCE_CENTROID for r in rs]
        elif province_code in MUNICIPALITIES:
            if code != province_code[:2] + "0100":
                continue  # 重庆 500200 县: folded into the 500100 city row
            level, name = "city", city_name
            parts = shapes[code]
            population = pop[province_code]  # the whole municipality
        else:
            level, name = "city", city_name
            parts = shapes[code]
        lat, lon = centroid(parts)
        rows.append([level, code, name, province_code, f"{lat:.4f}", f"{lon:.4f}",
                     str(population), str(YEAR), census["id"]])
    check(rows, official)
    return sorted(rows, key=lambda r: r[1])


def check(rows: list[list[str]], official: dict[str, str]) -> None:
    """Fail unless the rows are exactly the official provinces and prefectures, by code and name."""
    ours = {r[1]: r[2] for r in rows if r[0] == "province" or r[3] not in MUNICIPALITIES}
    missing = sorted(set(official) - set(ours))
    extra = sorted(set(ours) - set(official))
    renamed = sorted(f"{c}: {ours[c]} != {official[c]}" for c in set(ours) & set(official)
                     if ours[c] != official[c])
    if missing or extra or renamed:
        raise ValueError(f"rows disagree with the code list: missing {missing}, extra {extra}, "
                         f"names {renamed}")
    for r in rows:
        lat, lon = float(r[4]), float(r[5])
        if not (3 <= lat <= 54 and 73 <= lon <= 136):
            raise ValueError(f"{r[1]} {r[2]}: centroid {lat}, {lon} is outside China")


def write(rows: list[list[str]], out: Path) -> None:
    """UTF-8 CSV, header first, LF line ends (byte-for-byte reproducible)."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with out.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh, lineterminator="\n")
        writer.writerow(COLUMNS)
        writer.writerows(rows)


def report(rows: list[list[str]], out: Path) -> None:
    """Print row counts and the province sums."""
    provinces = [r for r in rows if r[0] == "province"]
    cities = [r for r in rows if r[0] == "city"]
    print(f"wrote {out}: {len(provinces)} provinces, {len(cities)} cities")
    total = sum(int(r[6]) for r in provinces)
    print(f"  province populations sum to {total:,}")
    for p in provinces:
        under = sum(int(c[6]) for c in cities if c[3] == p[1])
        if under != int(p[6]):
            print(f"  {p[1]} {p[2]}: cities {under:,} of {int(p[6]):,} "
                  f"(short {int(p[6]) - under:,}: directly administered county-level units)")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror-root", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--out", type=Path, default=DEFAULT_OUT)
    ap.add_argument("--sources", type=Path, default=HERE / "sources.yaml")
    args = ap.parse_args(argv)
    sources = yaml.safe_load(args.sources.read_text(encoding="utf-8"))["sources"]
    rows = build(sources, args.mirror_root)
    write(rows, args.out)
    report(rows, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
