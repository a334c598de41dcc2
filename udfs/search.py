"""Where a local name's candidates come from and how they are scored: the section a code
reveals (its block), the prefilter index or the whole library, a second search from
`candidate_floor` for a name with no candidate, and a search without bracketed vocabulary
qualifiers for what a reviewer is shown (udfs/candidates.py holds the scorers)."""

from __future__ import annotations

import numpy as np

from udfs.candidates import PairStats, ScoringKeys, all_pairs_top, bag_scores, fine_scores, top_per_row
from udfs.library import Evidence, NationalLibrary
from udfs.params import Execution, MatchParams


def search_without_qualifiers(keys: list[str], library: NationalLibrary, evidence: list[Evidence],
                              params: MatchParams, stats: PairStats, scored: list[dict[int, float]],
                              execution: Execution) -> list[dict[int, float]]:
    """The scores a reviewer's candidates are ranked by: a name with bracketed vocabulary
    qualifiers is searched again without them, since (同切口)(6岁及以下) dilute every score until
    the right family is not even a candidate. Only for showing: what is accepted automatically
    is decided on the whole name."""
    cores = {j: core for j, key in enumerate(keys)
             if key and (core := library.families.core(key)) != key}
    shown = list(scored)
    if not cores:
        return shown
    rows = list(cores)
    found: list[dict[int, float]] = [{} for _ in rows]
    search(ScoringKeys(list(cores.values())), library, np.arange(len(rows), dtype=np.int64),
           [evidence[j] for j in rows], params, stats, found, execution)
    for j, core_scores in zip(rows, found, strict=True):
        shown[j] = dict(scored[j])
        for i, s in core_scores.items():
            shown[j][i] = max(s, shown[j].get(i, 0.0))
    return shown


def search(queries: ScoringKeys, library: NationalLibrary, rows: np.ndarray,
           evidence: list[Evidence], params: MatchParams, stats: PairStats,
           scored: list[dict[int, float]], execution: Execution) -> None:
    """Blocked rows search their block first; weak blocks and the rest search the library."""
    blocks: dict[int, np.ndarray] = {}
    for row in rows.tolist() if params.blocking else []:
        block = library.block(evidence[row])
        if block is not None:
            blocks[row] = block
    blocked = np.asarray(list(blocks), dtype=np.int64)
    unblocked = np.setdiff1d(rows, blocked)
    stats.searched_queries += len(rows)
    stats.block_queries += len(blocked)
    if len(blocked):
        r = np.repeat(blocked, [len(b) for b in blocks.values()])
        i = np.concatenate(list(blocks.values()))
        shortlist_and_score(queries, library, r, i, None, params, stats, scored, execution)
        best = np.array([max(scored[int(x)].values(), default=0.0) for x in blocked])
        weak = blocked[best < params.block_min_score]
        stats.fallback_queries += len(weak)
        unblocked = np.union1d(unblocked, weak)
    if not len(unblocked):
        return
    if execution.prefilter:
        r, i = library.index(params.prefilter_score).pairs(queries.probe, unblocked, stats)
        shortlist_and_score(queries, library, r, i, None, params, stats, scored, execution)
        # Nothing close: the best distant names still give a reviewer a family to look at.
        bare = np.asarray([j for j in unblocked.tolist() if not scored[j]], dtype=np.int64)
        if len(bare) and params.candidate_floor < params.prefilter_score:
            r, i = library.index(params.candidate_floor).pairs(queries.probe, bare, stats)
            shortlist_and_score(queries, library, r, i, None, params, stats, scored, execution,
                                cutoff=params.candidate_floor)
    else:
        r, i, s = all_pairs_top(queries, library.keys, unblocked, params.shortlist,
                                params.prefilter_score, execution.workers, stats)
        shortlist_and_score(queries, library, r, i, s, params, stats, scored, execution)


def shortlist_and_score(queries: ScoringKeys, library: NationalLibrary, rows: np.ndarray,
                        items: np.ndarray, first: np.ndarray | None, params: MatchParams,
                        stats: PairStats, scored: list[dict[int, float]],
                        execution: Execution, cutoff: float | None = None) -> None:
    if first is None:
        stats.first_pass_pairs += len(rows)
        first = bag_scores(queries, library.keys, rows, items,
                           params.prefilter_score if cutoff is None else cutoff,
                           execution.workers)
        keep = first > 0
        rows, items, first = rows[keep], items[keep], first[keep]
    rows, items, _ = top_per_row(rows, items, first, params.shortlist)
    stats.fine_pairs += len(rows)
    fine = fine_scores(queries, library.keys, rows, items, execution.workers)
    for r, i, s in zip(rows.tolist(), items.tolist(), fine.tolist(), strict=True):
        scored[r][i] = max(s, scored[r].get(i, 0.0))


def score_evidence(queries: ScoringKeys, library: NationalLibrary, evidence: list[Evidence],
                   family_items: list[list[int]], scored: list[dict[int, float]],
                   stats: PairStats, execution: Execution) -> list[dict[int, float]]:
    """Score the items the codes and the family reading point to; their agreement ignores the
    Latin-qualifier penalty.

    A name without (1.5T) ranks the plain item first, but when the code says the (1.5T)
    sibling, the code decides. Family items join the candidates with their real scores.
    """
    rows: list[int] = []
    items: list[int] = []
    for r, (ev, family) in enumerate(zip(evidence, family_items, strict=True)):
        wanted = ([ev.provided] if ev.provided is not None else []) + ev.code_items + family
        for item in dict.fromkeys(wanted):
            rows.append(r)
            items.append(item)
    stats.fine_pairs += len(rows)
    r_arr, i_arr = np.asarray(rows, dtype=np.int64), np.asarray(items, dtype=np.int64)
    ranked = fine_scores(queries, library.keys, r_arr, i_arr, execution.workers)
    agreement = fine_scores(queries, library.keys, r_arr, i_arr, execution.workers, latin_penalty=0.0)
    agree: list[dict[int, float]] = [{} for _ in scored]
    for r, i, s, a in zip(rows, items, ranked.tolist(), agreement.tolist(), strict=True):
        scored[r].setdefault(i, s)
        agree[r][i] = a
    return agree
