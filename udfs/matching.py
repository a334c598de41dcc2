"""Map local catalog items to national NHSA codes.

The pure-Python core (`NationalLibrary`, `map_items`) follows the mapping order of the method:
a provided national code that exists, then a code match whose names agree, then an exact
normalised-name match, then rapidfuzz over the whole library. `catalog_matcher` wraps it for
Spark's `mapInPandas`, so the library is broadcast once and unpickled once per task, and
each Arrow batch of catalog items is scored with rapidfuzz's vectorised `cdist`.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from rapidfuzz import fuzz, process

from udfs.normalize import normalize_name

if TYPE_CHECKING:
    from pyspark.broadcast import Broadcast

# Methods written to catalog_mapping.method, in the order they are tried.
PROVIDED, CODE, NAME_EXACT, FUZZY_AUTO, UNMATCHED = (
    "provided", "code", "name_exact", "fuzzy_auto", "unmatched")
# Review status: mapped automatically, waiting for a reviewer, or no usable candidate.
AUTO, NEEDS_REVIEW, NO_CANDIDATE = "auto", "needs_review", "no_candidate"

_SHORTLIST = 5  # candidates re-scored exactly after the coarse first pass

RESULT_COLUMNS: dict[str, str] = {
    "national_code": "string",
    "national_name": "string",
    "method": "string",
    "score": "double",
    "runner_up_score": "double",
    "candidate_code": "string",
    "candidate_name": "string",
    "code_conflict": "string",
    "review_status": "string",
}


@dataclass(frozen=True)
class MatchParams:
    accept_score: float = 92.0
    review_score: float = 70.0
    tie_margin: float = 2.0
    code_name_min_score: float = 80.0
    batch_size: int = 2000
    workers: int = 1


class NationalLibrary:
    """The national item library with the look-ups matching needs; small enough to broadcast."""

    def __init__(self, codes: Sequence[str], names: Sequence[str]) -> None:
        self.codes = list(codes)
        self.names = list(names)
        self.normalized = [normalize_name(n) for n in self.names]
        self.index_of_code = {c: i for i, c in enumerate(self.codes)}
        self.by_base: dict[str, list[int]] = defaultdict(list)
        self.by_name: dict[str, list[int]] = defaultdict(list)
        for i, (code, norm) in enumerate(zip(self.codes, self.normalized, strict=True)):
            if len(code) == 15:
                self.by_base[code[2:11]].append(i)
            if norm:
                self.by_name[norm].append(i)

    def code_candidates(self, local_code: str) -> list[int]:
        """National items whose full code or 9-digit base code equals the local code."""
        if local_code in self.index_of_code:
            return [self.index_of_code[local_code]]
        return self.by_base.get(local_code, [])


def map_items(
    local_codes: Sequence[Any],
    local_names: Sequence[Any],
    provided_codes: Sequence[Any],
    library: NationalLibrary,
    params: MatchParams,
) -> pd.DataFrame:
    """Decide the national code of each local item; one output row per input row, same order."""
    rows: list[dict[str, Any]] = []
    fuzzy_rows: list[int] = []
    for code, name, provided in zip(local_codes, local_names, provided_codes, strict=True):
        rows.append(_match_by_code_or_name(_text(code), normalize_name(_text(name)),
                                           _text(provided), library, params))
        if rows[-1]["method"] is None:
            fuzzy_rows.append(len(rows) - 1)
    queries = [normalize_name(_text(local_names[i])) for i in fuzzy_rows]
    for i, decided in zip(fuzzy_rows, _match_fuzzy(queries, library, params), strict=True):
        rows[i].update(decided)
    result = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    for column, kind in RESULT_COLUMNS.items():
        values = result[column]
        # Arrow needs all-missing text columns as None objects, not float NaN.
        result[column] = (values.astype("float64") if kind == "double"
                          else values.astype(object).where(values.notna(), None))
    return result


def _text(value: Any) -> str:
    return "" if value is None or (isinstance(value, float) and np.isnan(value)) else str(value)


def _mapped(library: NationalLibrary, index: int, method: str, score: float) -> dict[str, Any]:
    return {"national_code": library.codes[index], "national_name": library.names[index],
            "method": method, "score": float(score), "review_status": AUTO}


def _match_by_code_or_name(code: str, norm: str, provided: str, library: NationalLibrary,
                           params: MatchParams) -> dict[str, Any]:
    if provided in library.index_of_code:
        index = library.index_of_code[provided]
        return _mapped(library, index, PROVIDED, fuzz.ratio(norm, library.normalized[index]))
    conflict = None
    candidates = library.code_candidates(code) if code else []
    if candidates:
        scored = [(fuzz.ratio(norm, library.normalized[i]), i) for i in candidates]
        best_score, best = max(scored, key=lambda s: (s[0], -s[1]))
        if best_score >= params.code_name_min_score:
            return _mapped(library, best, CODE, best_score)
        conflict = library.codes[best]  # same code, different item: evidence, not proof
    exact = library.by_name.get(norm, []) if norm else []
    if len(exact) == 1:
        return {**_mapped(library, exact[0], NAME_EXACT, 100.0), "code_conflict": conflict}
    return {"method": None, "code_conflict": conflict}


def _match_fuzzy(queries: list[str], library: NationalLibrary,
                 params: MatchParams) -> Iterator[dict[str, Any]]:
    """Top-2 by `fuzz.ratio` over the whole library, in chunks to bound memory."""
    size = max(1, params.batch_size)
    for start in range(0, len(queries), size):
        chunk = queries[start:start + size]
        scores = process.cdist(chunk, library.normalized, scorer=fuzz.ratio,
                               dtype=np.uint8, workers=params.workers)
        take = min(_SHORTLIST, scores.shape[1])
        # uint8 scores are coarse: short-list on them, then re-score the short list exactly.
        top = np.argpartition(-scores.astype(np.int16), take - 1, axis=1)[:, :take] if take else None
        for row, query in enumerate(chunk):
            if not query or top is None:
                yield {"method": UNMATCHED, "review_status": NO_CANDIDATE}
                continue
            exact = sorted(((fuzz.ratio(query, library.normalized[j]), j) for j in top[row]),
                           key=lambda s: (-s[0], s[1]))[:2]
            yield _triage(library, [j for _, j in exact], [float(v) for v, _ in exact], params)


def _triage(library: NationalLibrary, order: list[int], scores: list[float],
            params: MatchParams) -> dict[str, Any]:
    best, best_score = order[0], scores[0]
    runner_up = scores[1] if len(scores) > 1 else None
    near_tie = runner_up is not None and best_score - runner_up < params.tie_margin
    candidate = {"candidate_code": library.codes[best], "candidate_name": library.names[best],
                 "runner_up_score": runner_up}
    if best_score >= params.accept_score and not near_tie:
        return {**_mapped(library, best, FUZZY_AUTO, best_score), **candidate}
    status = NEEDS_REVIEW if best_score >= params.review_score else NO_CANDIDATE
    return {"method": UNMATCHED, "score": best_score, "review_status": status, **candidate}


def catalog_matcher(
    library: Broadcast[NationalLibrary], params: MatchParams
) -> Callable[[Iterable[pd.DataFrame]], Iterable[pd.DataFrame]]:
    """A `mapInPandas` function; expects columns local_code, local_name, provided_code."""

    def match_batches(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        lib = library.value  # deserialised once per task, not per row
        for batch in batches:
            batch = batch.reset_index(drop=True)
            decided = map_items(batch["local_code"].tolist(), batch["local_name"].tolist(),
                                batch["provided_code"].tolist(), lib, params)
            yield pd.concat([batch, decided], axis=1)

    return match_batches
