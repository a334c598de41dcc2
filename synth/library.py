"""The synthetic national library (国家医保医疗服务项目分类与代码) with per-item traits.

Codes follow the real layout: '00' + 9-digit base (class2, section, subsection, item number)
+ 4-digit sub-item ('0000' main, '0100'/'0200' bracketed variants, '0001' 加收 surcharges).
Traits (price, usage weight, tech level, sex/age limits) drive catalogs and settlements.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from synth import vocab as V
from synth.groups import Group

MAIN, VARIANT, SURCHARGE = 0, 1, 2
_CODE_RE = re.compile(r"^00[1-4][1-7]\d{11}$")


@dataclass
class _Plan:
    group: Group
    name: str
    kind: int
    parent: int  # index of the main item in the plan (itself for a main item)
    sub: str
    real_code: str | None = None


def norm_key(name: str) -> str:
    """Spelling-insensitive key: names equal under it would be ambiguous after local renaming."""
    s = name.replace("（", "(").replace("）", ")").replace(" ", "").replace("　", "")
    for nat, loc in V.SYNONYMS:
        if loc:
            s = s.replace(loc, nat)
    return s.replace("血清", "")


def _targets(n_items: int) -> dict[str, int]:
    shares = np.array([V.LIBRARY_SHARE[c] for c in V.CLASSES])
    raw = shares / shares.sum() * n_items
    base = np.maximum(np.floor(raw).astype(int), 3)
    rem = n_items - int(base.sum())
    order = np.argsort(-(raw - np.floor(raw)))
    i = 0
    while rem != 0:
        c = order[i % len(order)]
        if rem > 0:
            base[c] += 1
            rem -= 1
        elif base[c] > 3:
            base[c] -= 1
            rem += 1
        i += 1
    return {c: int(b) for c, b in zip(V.CLASSES, base, strict=True)}


def load_seed_library(path: Path) -> list[tuple[str, str]]:
    """(code, name) pairs from a real TSV/CSV (first two columns), valid 15-digit codes only."""
    delim = "\t" if path.suffix.lower() in (".tsv", ".txt") else ","
    out: list[tuple[str, str]] = []
    with path.open(encoding="utf-8-sig", newline="") as fh:
        reader = csv.reader(fh, delimiter=delim)
        next(reader, None)
        for row in reader:
            if len(row) < 2:
                continue
            code, name = row[0].strip(), row[1].strip().lstrip("_")
            if _CODE_RE.match(code) and code[2:4] in V.CLASS_NAMES and name:
                out.append((code, name))
    return out


class _Builder:
    """Fills each class up to its target from the vocabulary, then assigns codes."""

    def __init__(self, n_items: int, rng: np.random.Generator, seed_items: list[tuple[str, str]]) -> None:
        self.n_items = n_items
        self.rng = rng
        self.keys: set[str] = set()
        self.plan: list[_Plan] = []
        self.reserved: dict[str, set[int]] = {}
        self.groups = V.groups_by_class()
        self.cands: dict[str, list[tuple[Group, str, tuple[str, ...]]]] = {}
        for c, groups in self.groups.items():
            lst = [(g, *V.parse_name(e)) for g in groups for e in g.names]
            perm = rng.permutation(len(lst))
            self.cands[c] = [lst[i] for i in perm]
        self.pos = dict.fromkeys(V.CLASSES, 0)
        self.count = dict.fromkeys(V.CLASSES, 0)
        self._seed(seed_items)

    def _seed(self, seed_items: list[tuple[str, str]]) -> None:
        by_prefix = {g.prefix: g for g in V.ALL_GROUPS}
        taken: set[str] = set()
        for code, name in seed_items:
            if len(self.plan) >= self.n_items or code in taken:
                continue
            key = norm_key(name)
            if key in self.keys:
                continue
            c, prefix, sub = code[2:4], code[2:8], code[11:]
            group = by_prefix.get(prefix) or self.groups[c][0]
            kind = MAIN if sub == "0000" else (VARIANT if sub.endswith("00") else SURCHARGE)
            self.keys.add(key)
            taken.add(code)
            self.reserved.setdefault(prefix, set()).add(int(code[8:11]))
            self.plan.append(_Plan(group, name, kind, len(self.plan), sub, real_code=code))
            self.count[c] += 1

    def fill(self, c: str, budget: int) -> int:
        """Add items of class c until `budget` more were added or names run out."""
        added = 0
        cands = self.cands[c]
        while added < budget and self.pos[c] < len(cands):
            group, name, own_quals = cands[self.pos[c]]
            self.pos[c] += 1
            key = norm_key(name)
            if key in self.keys:
                continue
            self.keys.add(key)
            main = len(self.plan)
            self.plan.append(_Plan(group, name, MAIN, main, "0000"))
            added += 1
            quals = own_quals or (group.quals + V.CLASS_QUALS.get(c, ()))
            p_var = 0.9 if own_quals else 0.7
            if quals and self.rng.random() < p_var:
                k = int(self.rng.integers(1, min(len(quals), 6) + 1))
                chosen = sorted(self.rng.choice(len(quals), size=k, replace=False))
                added += self._add_children(group, main, [f"{name}({quals[i]})" for i in chosen],
                                            VARIANT, budget - added)
            surch = group.surch + V.CLASS_SURCH.get(c, ())
            if surch and self.rng.random() < 0.4:
                k = int(self.rng.integers(1, min(len(surch), 3) + 1))
                picks = self.rng.choice(len(surch), size=k, replace=False)
                added += self._add_children(group, main, [f"{name}({surch[i]}加收)" for i in picks],
                                            SURCHARGE, budget - added)
        self.count[c] += added
        return added

    def _add_children(self, group: Group, main: int, names: list[str], kind: int,
                      room: int) -> int:
        """Sub-items of a main item (variants 0100, 0200 …; surcharges 0001 …), at most `room`."""
        added = 0
        for j, child in enumerate(names, start=1):
            if added >= room:
                break
            key = norm_key(child)
            if key in self.keys:
                continue
            self.keys.add(key)
            sub = f"{j:02d}00" if kind == VARIANT else f"{j:04d}"
            self.plan.append(_Plan(group, child, kind, main, sub))
            added += 1
        return added

    def build(self) -> None:
        targets = _targets(self.n_items)
        deficit = 0
        for c in V.CLASSES:
            need = max(0, targets[c] - self.count[c])
            deficit += need - self.fill(c, need)
        deficit = self.n_items - len(self.plan)
        order = sorted(V.CLASSES, key=lambda c: -V.LIBRARY_SHARE[c])
        while deficit > 0:
            progress = 0
            for c in order:
                if deficit <= 0:
                    break
                got = self.fill(c, min(deficit, 50))
                deficit -= got
                progress += got
            if progress == 0:
                raise ValueError(
                    f"vocabulary exhausted: at most {len(self.plan)} national items can be "
                    f"generated, {self.n_items} requested"
                )

    def codes(self) -> list[str]:
        """Assign item numbers per 6-digit section in plan order, skipping reserved ones."""
        next_no: dict[str, int] = {}
        base_of: dict[int, str] = {}
        out: list[str] = []
        for i, p in enumerate(self.plan):
            if p.real_code is not None:
                out.append(p.real_code)
                continue
            if p.kind == MAIN:
                pre = p.group.prefix
                no = next_no.get(pre, 0) + 1
                if self.rng.random() < 0.12:
                    no += int(self.rng.integers(1, 3))
                while no in self.reserved.get(pre, set()):
                    no += 1
                if no > 999:
                    raise ValueError(f"section {pre} overflows 999 items")
                next_no[pre] = no
                base_of[i] = f"{pre}{no:03d}"
            out.append(f"00{base_of[p.parent]}{p.sub}")
        return out


def _traits(plan: list[_Plan], rng: np.random.Generator) -> dict[str, np.ndarray]:
    n = len(plan)
    names = [p.name for p in plan]
    kind = np.array([p.kind for p in plan], dtype=np.int8)
    lo = np.array([p.group.price[0] for p in plan])
    hi = np.array([p.group.price[1] for p in plan])
    tech = np.array([V.keyword_max(s, V.TECH_KEYWORDS) for s in names])
    tech = np.clip(tech + rng.uniform(0.0, 0.1, n), 0.0, 1.0)
    # Where in the group's price range: simple services low, major operations high.
    u = rng.random(n)
    simple = np.array([V.any_keyword(s, V.SIMPLE_KEYWORDS) for s in names])
    major = np.array([V.any_keyword(s, V.MAJOR_KEYWORDS) for s in names])
    u = np.where(major, 0.55 + 0.45 * u, np.where(simple, 0.4 * u, u))
    price = np.exp(np.log(lo) + u * (np.log(hi) - np.log(lo))) * (1.0 + 1.5 * tech)
    parent = np.array([p.parent for p in plan])
    price = np.where(kind == VARIANT, price[parent] * rng.uniform(0.8, 1.3, n), price)
    price = np.where(kind == SURCHARGE, price[parent] * rng.uniform(0.1, 0.5, n), price)
    price = np.where(price >= 50, np.round(price), np.round(price, 1))
    price = np.maximum(price, 0.5)
    pop = np.array([p.group.pop for p in plan]) * rng.lognormal(0.0, 1.2, n)
    pop *= np.array([V.keyword_max(s, V.POPULAR_KEYWORDS, 1.0) for s in names])
    pop *= np.where(kind == MAIN, 1.0, np.where(kind == VARIANT, 0.35, 0.25))
    pop *= 1.0 - 0.7 * tech
    op = np.array([p.group.op for p in plan], dtype=float)
    ip = np.array([p.group.ip for p in plan], dtype=float)
    op_only = np.array([V.any_keyword(s, V.OUTPATIENT_ONLY) for s in names])
    ip_only = np.array([V.any_keyword(s, V.INPATIENT_ONLY) for s in names])
    ip = np.where(op_only, 0.0, ip)
    op = np.where(ip_only & ~op_only, 0.0, op)
    chronic = op * np.array([V.keyword_max(s, V.CHRONIC_KEYWORDS, 1.0) for s in names])
    reimb = rng.normal(0.0, 1.0, n) - 3.0 * np.array([V.any_keyword(s, V.COSMETIC_KEYWORDS) for s in names])
    sex = np.array(
        [
            "F" if V.any_keyword(s, V.FEMALE_KEYWORDS) else ("M" if V.any_keyword(s, V.MALE_KEYWORDS) else "")
            for s in names
        ]
    )
    child = np.array([V.any_keyword(s, V.CHILD_KEYWORDS) for s in names])
    return {
        "kind": kind,
        "tech": tech,
        "price": price,
        "pop": pop,
        "op": op,
        "ip": ip,
        "chronic": chronic,
        "reimb": reimb,
        "sex": sex,
        "child": child,
        "parent": parent,
    }


def _desc(plan: list[_Plan], rng: np.random.Generator) -> list[str]:
    out: list[str] = []
    for p in plan:
        notes = V.SCOPE_NOTES[p.group.prefix[:2]]
        r = rng.random()
        if r < 0.3 and not p.group.desc:
            out.append("")
            continue
        text = p.group.desc or notes[int(rng.integers(len(notes)))]
        if r > 0.7:
            text += "；" + V.EXCLUDED_NOTES[int(rng.integers(len(V.EXCLUDED_NOTES)))]
        out.append(text + "。")
    return out


def build_library(n_items: int, seed: int, seed_library: Path | None = None) -> pd.DataFrame:
    """National library sorted by code: item_code, item_name, item_desc, unit + traits."""
    rng = np.random.default_rng([seed, 101])
    seed_items = load_seed_library(seed_library) if seed_library else []
    b = _Builder(n_items, rng, seed_items)
    b.build()
    codes = b.codes()
    traits = _traits(b.plan, rng)
    df = pd.DataFrame(
        {
            "item_code": codes,
            "item_name": [p.name for p in b.plan],
            "item_desc": _desc(b.plan, rng),
            "unit": [p.group.unit for p in b.plan],
            "class2": [c[2:4] for c in codes],
            "prefix6": [c[2:8] for c in codes],
            "base9": [c[2:11] for c in codes],
            "seeded": [p.real_code is not None for p in b.plan],
            **{k: v for k, v in traits.items() if k != "parent"},
        }
    )
    df["parent_code"] = [codes[i] for i in traits["parent"]]
    df = df.sort_values("item_code", kind="stable").reset_index(drop=True)
    if df["item_code"].duplicated().any() or df["item_name"].duplicated().any():
        raise AssertionError("national library codes and names must be unique")
    return df


NATIONAL_COLUMNS = ["item_code", "item_name", "item_desc", "unit"]
