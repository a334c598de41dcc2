"""The national library with everything matching looks up, built once and broadcast.

Keys (normalised names, tiered so that no synonym merges two national items), the prefilter
index, code and section look-ups for blocking, and each item's nearest neighbour (the
runner-up of an exact match). Built on the driver, unpickled once per executor process.
"""

from __future__ import annotations

import logging
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np

from udfs.candidates import (
    CandidateIndex,
    PairStats,
    ScoringKeys,
    bag_scores,
    fine_scores,
    top_per_row,
    unique_ints,
)
from udfs.families import FamilyIndex, Qualifiers
from udfs.normalize import BASIC, Normalizer, TieredKeys

log = logging.getLogger(__name__)

_NEAR_MIN = 90.0  # an exact match's runner-up is reported from this score up
# base + optional sub-item or surcharge number + optional local letter: 310100001-1, 31010000101,
# 310100001J2, 120400005c, 310100001-1a
_LOCAL_CODE = re.compile(r"^(\d{9})(?:[-/._]?([jJ])?(\d{1,4}))?(?:[-/]?[a-iA-Ik-zK-Z]\d?)?$")


class Evidence:
    """What an item's codes point to (a plain slotted class: one is made per catalog item)."""

    __slots__ = ("code_items", "provided", "recon", "sections", "system")

    def __init__(self) -> None:
        self.system = ""  # the code system of the local code (see `code_system`)
        self.provided: int | None = None
        self.code_items: list[int] = []
        self.recon: int | None = None  # the national item the local code spells out exactly
        self.sections: set[str] = set()


def code_system(local_code: str) -> str:
    """Which code system a local code is written in: `nhsa15` (00 + base + sub-item), `spec9`
    (the 9-digit price-item spec base; the 2001 and 2012 editions share the form, so the
    library and the name tell them apart), `spec_sub` (base + a local or sub-item suffix:
    31010000101, 310100001-1, 310100001J2) or `local` (a province's own numbering)."""
    if len(local_code) == 15 and local_code.isdigit() and local_code.startswith("00"):
        return "nhsa15"
    if len(local_code) == 9 and local_code.isdigit():
        return "spec9"
    return "spec_sub" if _LOCAL_CODE.match(local_code) else "local" if local_code else ""


class NationalLibrary:
    """The national item library with the look-ups matching needs; small enough to broadcast."""

    def __init__(self, codes: Sequence[str], names: Sequence[str],
                 normalizer: Normalizer = BASIC, qualifiers: Qualifiers | None = None) -> None:
        self.codes = list(codes)
        self.names = list(names)
        self.normalizer = normalizer
        self.key_of = TieredKeys(self.names, normalizer)
        for idx in self.key_of.merged:  # a synonym would merge different items: keep them apart
            log.warning("normalisation would merge national items %s; they keep a plainer key",
                        ", ".join(f"{self.codes[i]} {self.names[i]}" for i in idx))
        keys = [self.key_of(n) for n in self.names]
        self._library_keys = dict(zip(self.names, keys, strict=True))  # most local names
        self.keys = ScoringKeys(keys)
        self.families = FamilyIndex(self.codes, keys,
                                    (qualifiers or Qualifiers()).normalised(self.key_of),
                                    self.key_of.merged)
        self._indexes: dict[float, CandidateIndex] = {}
        self.index_of_code = {c: i for i, c in enumerate(self.codes)}
        by_base: dict[str, list[int]] = defaultdict(list)
        by_section: dict[str, list[int]] = defaultdict(list)
        self.by_key: dict[str, list[int]] = defaultdict(list)
        for i, (code, key) in enumerate(zip(self.codes, keys, strict=True)):
            if len(code) == 15 and code.isdigit():
                by_base[code[2:11]].append(i)
                by_section[code[2:8]].append(i)
            if key:
                self.by_key[key].append(i)
        self.by_base = dict(by_base)
        self.by_section = {s: np.asarray(v, dtype=np.int64) for s, v in by_section.items()}
        self._neighbours: dict[float, tuple[np.ndarray, np.ndarray]] = {}
        self._key_cache: dict[str, str] = {}

    def neighbours(self, tie_margin: float) -> tuple[np.ndarray, np.ndarray]:
        """Each item's closest other item (-1 if none is near): the runner-up of a query equal
        to its key. Only neighbours that could make a near-tie matter, so the search is tight.
        """
        floor = min(_NEAR_MIN, 100.0 - tie_margin)
        if floor not in self._neighbours:
            self._neighbours[floor] = self._nearest(floor)
        return self._neighbours[floor]

    def _nearest(self, floor: float) -> tuple[np.ndarray, np.ndarray]:
        n = len(self.codes)
        rows = np.arange(n, dtype=np.int64)
        r, i = self.index(floor).pairs(self.keys.probe, rows, PairStats())
        keep = r != i
        r, i = r[keep], i[keep]
        first = bag_scores(self.keys, self.keys, r, i, floor, workers=-1)
        r, i, _ = top_per_row(r, i, first, 3)
        s = fine_scores(self.keys, self.keys, r, i, workers=-1)
        keep = s >= floor
        r, i, s = top_per_row(r[keep], i[keep], s[keep], 1)
        near_item = np.full(n, -1, dtype=np.int64)
        near_score = np.zeros(n, dtype=np.float64)
        near_item[r], near_score[r] = i, s
        return near_item, near_score

    def query_keys(self, names: Iterable[str]) -> list[str]:
        """Keys of local names, down the same tiers as the library's (see `TieredKeys`).

        Cached per process: provinces spell most items alike, so names repeat a lot.
        """
        cache, known = self._key_cache, self._library_keys
        if len(cache) > 500_000:
            cache.clear()
        out = []
        for name in names:
            key = known.get(name)
            if key is None:
                key = cache.get(name)
                if key is None:
                    key = cache[name] = self.key_of(name)
            out.append(key)
        return out

    def __getstate__(self) -> dict[str, Any]:
        state = dict(self.__dict__)
        state["_key_cache"] = {}  # executors fill their own
        return state

    def index(self, min_score: float) -> CandidateIndex:
        """The prefilter index for one minimum score, built on first use (before broadcasting)."""
        if min_score not in self._indexes:
            self._indexes[min_score] = CandidateIndex(self.keys, min_score)
        return self._indexes[min_score]

    def evidence(self, local_code: str, provided: str) -> Evidence:
        """What the provided national code and the local code say about the item."""
        ev = Evidence()
        if not provided and not local_code:
            return ev
        ev.system = code_system(local_code)
        if provided:
            fixed = provided.zfill(15) if provided.isdigit() and len(provided) < 15 else provided
            ev.provided = self.index_of_code.get(fixed)  # leading zeros lost in a spreadsheet
            if ev.provided is not None:
                ev.sections.add(fixed[2:8])
        if local_code in self.index_of_code:
            ev.recon = self.index_of_code[local_code]
            ev.code_items = [ev.recon]
            ev.sections.add(local_code[2:8])
        elif ev.system == "nhsa15":  # a sub-item the library lacks: its family is evidence
            ev.code_items = list(self.by_base.get(local_code[2:11], []))
            ev.sections.add(local_code[2:8])
        elif m := _LOCAL_CODE.match(local_code):
            base, surcharge, number = m.groups()
            ev.code_items = list(self.by_base.get(base, []))
            ev.sections.add(base[:6])
            if number is not None:
                k = int(number)
                sub = f"{k:04d}" if surcharge else (f"{k:02d}00" if k < 100 else "")
                ev.recon = self.index_of_code.get(f"00{base}{sub}") if sub else None
        return ev

    def block(self, ev: Evidence) -> np.ndarray | None:
        parts = [self.by_section[s] for s in sorted(ev.sections) if s in self.by_section]
        if len(parts) > 1:
            return unique_ints(np.concatenate(parts))
        return parts[0] if parts else None
