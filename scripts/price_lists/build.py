"""Rebuild the price-list evaluation set from fetched repository mirrors.

Usage::

    python scripts/price_lists/build.py --mirror-root /work/.mirror --out data/price_lists

Each source of ``sources.yaml`` is read with ``git --git-dir <mirror> show <commit>:<path>``,
parsed, and written to ``<out>/<id>.tsv``; every source row that is not kept goes to
``<out>/<id>.dropped.tsv`` with a ``reason``. The outputs are derived from third-party files:
do not commit them unless the source says ``committable: true``.
"""

from __future__ import annotations

import argparse
import collections
import csv
import io
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from mirrors import git_show

HERE = Path(__file__).resolve().parent
DEFAULT_SAMPLE = Path(__file__).resolve().parents[3] / "shared/data/nhsa/national_items_sample.tsv"
COLUMNS = ["source", "row", "local_code", "local_name", "price", "unit", "spec_base", "nhsa_code"]
DROP_COLUMNS = ["source", "row", "local_code", "local_name", "reason"]

# National price-item spec chapters: 11-14 综合, 21-27 诊断, 31-34 治疗, 41-48 中医.
SPEC_BASE = r"(?:1[1-4]|2[1-7]|3[1-4]|4[1-8])\d{7}"
RE_NHSA = re.compile(rf"00({SPEC_BASE})\d{{4}}")  # 15-digit NHSA code
# Local variant suffixes: 11 digits, -1, /1, a, J2 and their combinations (-1a, -1/1).
_SUFFIX = r"(?:\d{2}|[-/A-Za-z][-/A-Za-z0-9]*)?"
RE_NHSA_LOCAL = re.compile(rf"(00{SPEC_BASE}\d{{4}})-({SPEC_BASE}){_SUFFIX}")  # 15-digit-local
RE_LOCAL = re.compile(rf"({SPEC_BASE}){_SUFFIX}")


@dataclass
class Row:
    """One row of a source, before it is kept or dropped."""

    row: int
    code: str
    name: str
    price: str = ""
    unit: str = ""
    reason: str = ""  # set by the parser for rows that are not items (e.g. section headings)


@dataclass
class Stats:
    """Per-source figures printed at the end."""

    kept: int = 0
    dropped: collections.Counter[str] = field(default_factory=collections.Counter)
    base_in_sample: int = 0
    bases: set[str] = field(default_factory=set)
    code9_in_sample: int = 0
    section_in_sample: int = 0


def derive(code: str) -> tuple[str, str]:
    """Return ``(spec_base, nhsa_code)`` for a code in one of the national shapes, else blanks."""
    c = code.strip()
    if m := RE_NHSA_LOCAL.fullmatch(c):
        return m.group(2), m.group(1)
    if m := RE_NHSA.fullmatch(c):
        return m.group(1), c
    if m := RE_LOCAL.fullmatch(c):
        return m.group(1), ""
    return "", ""


def sql_values(text: str) -> list[str]:
    """Split the value list of one ``select ... from dual`` line into literals (quotes removed)."""
    vals: list[str] = []
    buf: list[str] = []
    quoted = False
    i = 0
    while i < len(text):
        ch = text[i]
        if quoted:
            if ch == "'" and text[i + 1 : i + 2] == "'":
                buf.append("'")
                i += 1
            elif ch == "'":
                quoted = False
            else:
                buf.append(ch)
        elif ch == "'":
            quoted = True
        elif ch == "(":  # function call such as to_date('3000-01-01', ...): keep it whole
            depth, j = 0, i
            while j < len(text):
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                if depth == 0:
                    break
                j += 1
            buf.append(text[i : j + 1])
            i = j
        elif ch == ",":
            vals.append("".join(buf).strip())
            buf = []
        else:
            buf.append(ch)
        i += 1
    vals.append("".join(buf).strip())
    return vals


RE_SELECT = re.compile(r"^\s*select\s+(.*?)\s+from\s+dual\b", re.IGNORECASE)
RE_INSERT = re.compile(r"^\s*insert\s+into\s+(\S+?)\s*\(([^)]*)\)", re.IGNORECASE)


def sql_tables(text: str) -> Iterator[tuple[str, int, dict[str, str]]]:
    """Yield ``(table, line_no, record)`` for every ``select <values> from dual`` row."""
    table, cols = "", []
    for no, line in enumerate(text.splitlines(), start=1):
        if m := RE_INSERT.match(line):
            table, cols = m.group(1), [c.strip() for c in m.group(2).split(",")]
            continue
        if table and (m := RE_SELECT.match(line)):
            vals = sql_values(m.group(1))
            if len(vals) == len(cols):
                yield table, no, dict(zip(cols, vals, strict=True))


def parse_zlhis_sql(data: bytes, src: dict) -> Iterator[Row]:
    """ZLHIS seed script: 收费项目目录 items, 现价 from 收费价目, 收费分类目录 as headings."""
    text = data.decode(src.get("encoding", "gb18030"), errors="replace")
    records = list(sql_tables(text))
    prices = {r["收费细目id"]: r["现价"] for t, _, r in records if t == "收费价目"}
    for table, no, rec in records:
        if table == "收费分类目录":
            yield Row(no, rec["编码"], rec["名称"], reason="section_heading")
        elif table == "收费项目目录":
            yield Row(no, rec["编码"], rec["名称"], prices.get(rec["id"], ""), rec["计算单位"])


RE_MYSQL_INSERT = re.compile(r"^INSERT INTO `(\w+)` VALUES \((.*)\);\s*$")
RE_MYSQL_COLUMN = re.compile(r"^\s+`(\w+)` \w+")
RE_MYSQL_VALUE = re.compile(r"\s*(?:'((?:[^'\\]|\\.|'')*)'|([^',]*?))\s*(?:,|$)")
MYSQL_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "0": "\0", "b": "\b", "Z": "\x1a"}


def mysql_values(text: str) -> list[str]:
    """Split one MySQL ``VALUES (...)`` tuple into literals, undoing escapes; NULL becomes ''."""
    vals: list[str] = []
    pos = 0
    while pos < len(text):
        m = RE_MYSQL_VALUE.match(text, pos)
        if not m or m.end() == pos:
            raise ValueError(f"unparsable MySQL tuple at {pos}: {text[pos : pos + 40]!r}")
        quoted, bare = m.group(1), m.group(2)
        if quoted is not None:
            quoted = re.sub(r"\\(.)", lambda e: MYSQL_ESCAPES.get(e[1], e[1]), quoted)
            vals.append(quoted.replace("''", "'"))
        else:
            vals.append("" if bare.lower() == "null" else bare)
        pos = m.end()
    return vals


def parse_mysql_dump(data: bytes, src: dict) -> Iterator[Row]:
    """One-line ``INSERT INTO `t` VALUES (...);`` rows; columns named by the dump's CREATE TABLE.

    ``columns`` maps name/price/unit to column names and ``code`` to a list of columns: the
    first whose value ``derive`` accepts is the row's code, else the first non-empty one.
    """
    text = data.decode(src.get("encoding", "utf-8"), errors="replace")
    table, cols = src["table"], src["columns"]
    names: list[str] = []
    in_create = False
    for no, line in enumerate(text.splitlines(), start=1):
        if line.startswith(f"CREATE TABLE IF NOT EXISTS `{table}`"):
            in_create, names = True, []
        elif in_create and (m := RE_MYSQL_COLUMN.match(line)):
            names.append(m.group(1))
        elif in_create and line.startswith(")"):
            in_create = False
        elif (m := RE_MYSQL_INSERT.match(line)) and m.group(1) == table:
            rec = dict(zip(names, mysql_values(m.group(2)), strict=True))
            codes = [rec[c].strip() for c in cols["code"]]
            code = next((c for c in codes if derive(c)[0]), next((c for c in codes if c), ""))
            name, price, unit = (rec[cols[k]] for k in ("name", "price", "unit"))
            yield Row(no, code, name, price, unit)


def parse_table(data: bytes, src: dict) -> Iterator[Row]:
    """CSV/TSV/XLSX with a header row; ``columns`` maps code/name/price/unit to headers."""
    cols = src["columns"]
    if src["format"] == "xlsx":
        sheet = src.get("sheet", 0)
        frame = pd.read_excel(io.BytesIO(data), sheet_name=sheet, dtype=str, header=None)
    else:
        sep = "\t" if src["format"] == "tsv" else ","
        raw = data.decode(src.get("encoding", "utf-8-sig"), errors="replace")
        frame = pd.read_csv(
            io.StringIO(raw), sep=sep, dtype=str, header=None, quoting=csv.QUOTE_MINIMAL
        )
    frame = frame.fillna("")
    header_row = int(src.get("header_row", 0))
    header = [str(h).strip() for h in frame.iloc[header_row]]
    idx = {k: header.index(v) for k, v in cols.items()}
    for i, values in enumerate(frame.itertuples(index=False), start=1):
        code, name, price, unit = (str(values[idx[k]]) if k in idx else "" for k in FIELDS)
        reason = "header" if i <= header_row + 1 else ""
        yield Row(i, code, name, price, unit, reason)


FIELDS = ("code", "name", "price", "unit")
PARSERS: dict[str, Callable[[bytes, dict], Iterator[Row]]] = {
    "zlhis_sql": parse_zlhis_sql,
    "mysql_dump": parse_mysql_dump,
    "csv": parse_table,
    "tsv": parse_table,
    "xlsx": parse_table,
}


def classify(row: Row, national: bool) -> tuple[str, str, str]:
    """Return ``(reason, spec_base, nhsa_code)``; an empty reason means the row is kept."""
    code, name = row.code.strip(), row.name.strip()
    if row.reason:
        return row.reason, "", ""
    if not name:
        return "blank_name", "", ""
    if not code:
        return "no_code", "", ""
    base, nhsa = derive(code)
    if not base:
        return "code_outside_spec", "", ""
    return "", (base if national else ""), (nhsa if national else "")


def load_sample(path: Path) -> set[str]:
    """9-digit bases (chars 3-11) of the shared national sample; read, never copied."""
    frame = pd.read_csv(path, sep="\t", dtype=str)
    codes = frame["nhsa_code"].dropna()
    return {c[2:11] for c in codes if len(c) == 15 and c.isdigit()}


def build_source(src: dict, mirror_root: Path, out: Path, sample: set[str]) -> Stats:
    """Parse one source and write its kept and dropped rows."""
    git_dir = mirror_root / src["repo"].replace("/", "+") / "repo"
    if not git_dir.is_dir():  # not fetched yet: a bare clone from GitHub (needs the network)
        print(f"[{src['id']}] cloning {src['repo']} into {git_dir}")
        subprocess.run(["git", "clone", "--bare", "--quiet",
                        f"https://github.com/{src['repo']}.git", str(git_dir)], check=True)
    national = bool(src.get("code_is_national", True))
    sections = {b[:6] for b in sample}
    stats = Stats()
    kept: list[list[str]] = []
    dropped: list[list[str]] = []
    for path in src["paths"]:
        data = git_show(git_dir, src["commit"], path)
        for row in PARSERS[src["format"]](data, src):
            code, name = row.code.strip(), row.name.strip()
            reason, base, nhsa = classify(row, national)
            if reason:
                stats.dropped[reason] += 1
                dropped.append([src["id"], str(row.row), row.code, name, reason])
                continue
            stats.kept += 1
            price, unit = row.price.strip(), row.unit.strip()
            kept.append([src["id"], str(row.row), row.code, name, price, unit, base, nhsa])
            code9 = derive(code)[0]
            stats.code9_in_sample += code9 in sample
            stats.section_in_sample += code9[:6] in sections
            if base:
                stats.bases.add(base)
                stats.base_in_sample += base in sample
    out.mkdir(parents=True, exist_ok=True)
    pd.DataFrame(kept, columns=COLUMNS).to_csv(out / f"{src['id']}.tsv", sep="\t", index=False)
    pd.DataFrame(dropped, columns=DROP_COLUMNS).to_csv(
        out / f"{src['id']}.dropped.tsv", sep="\t", index=False
    )
    return stats


def report(src: dict, st: Stats) -> None:
    """Print the per-source figures."""
    print(f"[{src['id']}] {src['repo']}@{src['commit'][:10]}")
    print(f"  rows kept: {st.kept}")
    reasons = ", ".join(f"{k}={v}" for k, v in sorted(st.dropped.items())) or "none"
    print(f"  rows dropped: {sum(st.dropped.values())} ({reasons})")
    print(f"  spec_base in sample bases: {st.base_in_sample}; distinct bases: {len(st.bases)}")
    if not src.get("code_is_national", True):
        print("  code_is_national=false: spec_base left empty; the code as a 9-digit base is in")
        print(f"  the sample for {st.code9_in_sample} rows (coincidence, not ground truth);")
    print(f"  6-digit section in sample sections: {st.section_in_sample}")


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mirror-root", type=Path, default=Path("/work/.mirror"))
    ap.add_argument("--out", type=Path, default=Path("data/price_lists"))
    ap.add_argument("--sources", type=Path, default=HERE / "sources.yaml")
    ap.add_argument("--sample", type=Path, default=DEFAULT_SAMPLE)
    ap.add_argument("--only", nargs="*", help="ids of the sources to build (default: all)")
    args = ap.parse_args(argv)
    sources = yaml.safe_load(args.sources.read_text(encoding="utf-8"))["sources"]
    sample = load_sample(args.sample)
    for src in sources:
        if args.only and src["id"] not in args.only:
            continue
        report(src, build_source(src, args.mirror_root, args.out, sample))
    return 0


if __name__ == "__main__":
    sys.exit(main())
