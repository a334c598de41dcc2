"""Map local catalog items to national NHSA codes.

The pure-Python core (`NationalLibrary`, `map_items`) follows the mapping order of the method:
a provided national code, then a local code that is (or contains) a national code, then an
exact normalised name, then fuzzy candidates (udfs/candidates.py). Codes are evidence, not
proof: a provided or local code is used only when the name agrees with it and no other
national item fits the name clearly better; otherwise the code is recorded in
`code_conflict` and the item is matched by name. `catalog_matcher` wraps the core for
Spark's `mapInPandas`: the library is broadcast once and each Arrow batch is scored with
rapidfuzz's vectorised functions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from catalogbridge.names import (
    AUTO,
    CODE,
    FAMILY,
    FUZZY_AUTO,
    NAME_EXACT,
    NEEDS_REVIEW,
    NO_CANDIDATE,
    PROVIDED,
    UNMATCHED,
)
from udfs.candidates import PairStats, ScoringKeys, swaps_words
from udfs.families import FamilyRead
from udfs.library import Evidence, NationalLibrary
from udfs.params import Execution, MatchParams
from udfs.search import score_evidence, search, search_without_qualifiers

__all__ = ["RESULT_COLUMNS", "Execution", "MatchParams", "NationalLibrary", "catalog_matcher",
           "map_items"]

if TYPE_CHECKING:
    from pyspark.broadcast import Broadcast

RESULT_COLUMNS: dict[str, str] = {
    "match_key": "string",
    "national_code": "string",
    "national_name": "string",
    "method": "string",
    "score": "double",
    "runner_up_score": "double",
    "candidate_code": "string",
    "candidate_name": "string",
    "code_conflict": "string",
    "code_system": "string",
    "qualifier": "string",
    "review_status": "string",
    "candidate_codes": "array<string>",
    "candidate_scores": "array<double>",
}


def map_items(
    local_codes: Sequence[Any],
    local_names: Sequence[Any],
    provided_codes: Sequence[Any],
    library: NationalLibrary,
    params: MatchParams,
    stats: PairStats | None = None,
    execution: Execution | None = None,
) -> pd.DataFrame:
    """Decide the national code of each local item; one output row per input row, same order."""
    stats = stats if stats is not None else PairStats()
    execution = execution or Execution()
    frames = []
    size = max(1, params.batch_size)
    for start in range(0, len(local_names), size):
        end = start + size
        frames.append(_map_batch(local_codes[start:end], local_names[start:end],
                                 provided_codes[start:end], library, params, stats,
                                 execution))
    if not frames:
        return _typed(pd.DataFrame(columns=list(RESULT_COLUMNS)))
    return _typed(pd.concat(frames, ignore_index=True))


def _typed(result: pd.DataFrame) -> pd.DataFrame:
    for column, kind in RESULT_COLUMNS.items():
        values = result[column]
        # Arrow needs all-missing text columns as None objects, not float NaN.
        result[column] = (values.astype("float64") if kind == "double"
                          else values.astype(object).where(values.notna(), None))
    return result


def _text(value: Any) -> str:
    if type(value) is str:
        return value.strip()
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip()


def _map_batch(local_codes: Sequence[Any], local_names: Sequence[Any],
               provided_codes: Sequence[Any], library: NationalLibrary, params: MatchParams,
               stats: PairStats, execution: Execution) -> pd.DataFrame:
    keys = library.query_keys(_text(n) for n in local_names)
    evidence = [library.evidence(_text(c), _text(p))
                for c, p in zip(local_codes, provided_codes, strict=True)]
    stats.queries += len(keys)
    near_item, near_score = library.neighbours(params.tie_margin)
    decided: list[dict[str, Any] | None] = [None] * len(keys)
    work: list[int] = []
    for row, key in enumerate(keys):
        exact = library.by_key.get(key) if key else None
        if exact is not None and len(exact) == 1:
            decided[row] = _exact_without_doubt(key, exact[0], evidence[row], library, params)
        if decided[row] is None:
            work.append(row)
    # Only rows that need scoring get scoring keys, a search or their codes checked.
    queries = ScoringKeys([keys[r] for r in work])
    scored: list[dict[int, float]] = [{} for _ in work]
    unresolved: list[int] = []
    for j, key in enumerate(queries.strict):
        exact = library.by_key.get(key) if key else None
        if exact is not None and len(exact) == 1:  # runner-up: the item's nearest neighbour
            item = exact[0]
            scored[j][item] = 100.0
            if near_item[item] >= 0:
                scored[j][int(near_item[item])] = float(near_score[item])
        elif key:
            unresolved.append(j)
    sub_evidence = [evidence[r] for r in work]
    search(queries, library, np.asarray(unresolved, dtype=np.int64), sub_evidence, params, stats,
           scored, execution)
    # A name spelled like two national items is a tie for a reviewer, not a family to read.
    reads = [library.families.read(key) if key and key not in library.by_key else None
             for key in queries.strict]
    family_items = [([r.item] if r is not None and r.item >= 0 else [])
                    + library.families.truncated(key) for r, key in zip(reads, queries.strict,
                                                                         strict=True)]
    agree = score_evidence(queries, library, sub_evidence, family_items, scored, stats, execution)
    shown = search_without_qualifiers(queries.strict, library, sub_evidence, params, stats, scored,
                                      execution)
    for j, row in enumerate(work):
        decided[row] = _decide(queries.strict[j], scored[j], agree[j], sub_evidence[j], reads[j],
                               library, params, shown[j])
    for row, ev in enumerate(evidence):
        decided[row]["code_system"] = ev.system or None  # type: ignore[index]
    return pd.DataFrame(decided, columns=list(RESULT_COLUMNS))


def _exact_without_doubt(key: str, item: int, ev: Evidence, library: NationalLibrary,
                         params: MatchParams) -> dict[str, Any] | None:
    """The common case decided without scoring: a unique exact name that every code confirms.

    Gives what `_decide` would; None when anything needs a closer look.
    """
    near_item, near_score = library.neighbours(params.tie_margin)
    runner_up = float(near_score[item]) if near_item[item] >= 0 else None
    if ev.provided is not None:
        method = PROVIDED if ev.provided == item else None
    elif ev.code_items:
        method = CODE if item in ev.code_items and ev.recon in (None, item) else None
    else:
        near_tie = runner_up is not None and 100.0 - runner_up < params.tie_margin
        method = None if near_tie else NAME_EXACT
    if method is None:
        return None
    codes = [library.codes[item]] + ([library.codes[near_item[item]]] if runner_up else [])
    return {"match_key": key, "candidate_codes": codes[:params.top_k],
            "candidate_scores": [100.0, runner_up][:len(codes)][:params.top_k],
            "candidate_code": library.codes[item], "candidate_name": library.names[item],
            **_mapped(library, item, method, 100.0, runner_up)}


def _ranked(scores: dict[int, float], read: FamilyRead | None) -> list[tuple[int, float]]:
    ranked = sorted(((i, s) for i, s in scores.items() if s > 0), key=lambda kv: (-kv[1], kv[0]))
    if read is not None and read.item >= 0:  # the family's pick is the first candidate shown
        ranked.sort(key=lambda kv: kv[0] != read.item)
    return ranked


def _decide(key: str, scored: dict[int, float], agree: dict[int, float], ev: Evidence,
            read: FamilyRead | None, library: NationalLibrary, params: MatchParams,
            shown: dict[int, float]) -> dict[str, Any]:
    ranked, candidates = _ranked(scored, read), _ranked(shown, read)[:params.top_k]
    out: dict[str, Any] = {
        "match_key": key,
        "candidate_codes": [library.codes[i] for i, _ in candidates],
        "candidate_scores": [float(s) for _, s in candidates],
        "qualifier": read.label() if read is not None else None,
    }
    if candidates:
        out["candidate_code"] = library.codes[candidates[0][0]]
        out["candidate_name"] = library.names[candidates[0][0]]
    family_of = library.families.family_of

    def best_without(skip: set[int]) -> float | None:
        return next((s for i, s in ranked if i not in skip), None)

    def best_outside(family: str) -> float | None:
        return next((s for i, s in ranked if family_of[i] != family), None)

    def agrees(item: int) -> bool:
        other = best_without({item})
        return agree[item] >= params.code_name_min_score and (
            other is None or agree[item] >= other - params.tie_margin)

    if ev.provided is not None:
        other = best_without({ev.provided})
        # A province's own national code stands unless the name clearly points elsewhere.
        if agrees(ev.provided) or other is None or other < params.review_score:
            return {**out, **_mapped(library, ev.provided, PROVIDED, agree[ev.provided], other)}
        out["code_conflict"] = library.codes[ev.provided]
    if ev.code_items:
        best = max(ev.code_items, key=lambda i: (agree[i], i == ev.recon, scored.get(i, 0.0), -i))
        pick = ev.recon if ev.recon is not None and agrees(ev.recon) else best
        if agrees(pick) and (ev.recon == pick or not _reads_family(read, family_of[best])):
            return {**out, **_mapped(library, pick, CODE, agree[pick], best_without({pick}))}
        if read is not None and _reads_family(read, family_of[best]):
            # The name reads as the code's family plus a qualifier: the code confirms it, and
            # picks the member when the qualifier is not one the family knows.
            item = ev.recon if ev.recon is not None and not read.certain else read.item
            return {**out, **_mapped(library, item, CODE, scored.get(item, agree[item]),
                                     best_outside(read.family))}
        out.setdefault("code_conflict", library.codes[best])  # same code, another item
    # A reviewer's status counts what is shown: a candidate found without the qualifiers too.
    shown_best = candidates[0][1] if candidates else 0.0
    if not ranked:
        return _unmatched(out, None, None, params, shown_best)
    (top, top_score), runner_up = ranked[0], best_without({ranked[0][0]})
    if read is not None and read.item >= 0:
        top, top_score = max(ranked, key=lambda kv: (kv[1], -kv[0]))
        runner_up = best_without({top})
    near_tie = runner_up is not None and top_score - runner_up < params.tie_margin
    if top_score >= 100.0 and library.by_key.get(key) == [top] and not near_tie:
        return {**out, **_mapped(library, top, NAME_EXACT, 100.0, runner_up)}
    fuzzy = top_score >= params.accept_score and not near_tie and not swaps_words(
        key, library.keys.strict[top])
    if read is not None and read.item >= 0:
        same_family = family_of[top] == read.family
        if fuzzy and same_family and not read.certain:
            return {**out, **_mapped(library, top, FUZZY_AUTO, top_score, runner_up)}
        if read.certain and (same_family or not fuzzy):  # a strong match elsewhere: review
            return {**out, **_mapped(library, read.item, FAMILY, scored[read.item],
                                     best_outside(read.family))}
        if read.certain or not fuzzy:
            return _unmatched(out, scored[read.item], best_outside(read.family), params, shown_best)
    if fuzzy:
        return {**out, **_mapped(library, top, FUZZY_AUTO, top_score, runner_up)}
    return _unmatched(out, top_score, runner_up, params, shown_best)


def _reads_family(read: FamilyRead | None, family: str) -> bool:
    return read is not None and read.item >= 0 and read.family == family


def _unmatched(out: dict[str, Any], score: float | None, runner_up: float | None,
               params: MatchParams, shown_best: float) -> dict[str, Any]:
    status = NEEDS_REVIEW if max(score or 0.0, shown_best) >= params.review_score else NO_CANDIDATE
    return {**out, "method": UNMATCHED, "score": score, "runner_up_score": runner_up,
            "review_status": status}


def _mapped(library: NationalLibrary, index: int, method: str, score: float,
            runner_up: float | None) -> dict[str, Any]:
    return {"national_code": library.codes[index], "national_name": library.names[index],
            "method": method, "score": float(score), "runner_up_score": runner_up,
            "review_status": AUTO}


def catalog_matcher(
    library: Broadcast[NationalLibrary], params: MatchParams
) -> Callable[[Iterable[pd.DataFrame]], Iterable[pd.DataFrame]]:
    """A `mapInPandas` function; expects columns local_code, local_name, provided_code."""

    def match_batches(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        lib = library.value  # unpickled once per Python worker, reused by its later tasks
        for batch in batches:
            batch = batch.reset_index(drop=True)
            decided = map_items(batch["local_code"].tolist(), batch["local_name"].tolist(),
                                batch["provided_code"].tolist(), lib, params)
            yield pd.concat([batch, decided], axis=1)

    return match_batches
