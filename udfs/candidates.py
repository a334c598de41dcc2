"""Candidate generation and scoring for the catalog matcher, vectorised with rapidfuzz.

Three steps, each on fewer pairs than the one before:

1. Pair generation: a local code that reveals the class restricts the search to a block (the
   national items of that 6-digit section); otherwise a character prefix filter over an
   inverted index keeps only library items that can reach `prefilter_score`.
2. First pass: the character-bag score (`fuzz.ratio` on sorted characters = shared
   characters, order ignored) of every generated pair with `process.cpdist`, keeping the
   `shortlist` best per query.
3. Fine score on the short list only: the best of the ordered ratio on the keys, the bag score
   (qualifier written in front, 复杂X for X(复杂)) less a small penalty, and the ratio without
   bracketed Latin qualifiers (1.5T) less a penalty: a name without the qualifier prefers the
   item without it, but a code pointing to the qualified sibling can still win (the
   agreement of a code with a name is scored without that penalty).

The prefix filter is exact for the bag score (see `CandidateIndex`): no library item that can
reach `prefilter_score` is left out, so it cuts pairs without losing candidates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from rapidfuzz import fuzz, process
from rapidfuzz.distance import Levenshtein

from udfs.normalize import LATIN_GROUP, loose_key, strip_latin_groups

BAG_PENALTY = 3.0  # a bag-only agreement ranks just below an ordered one
_NUMERALS = set("ⅠⅡⅢⅣⅤⅥⅦⅧⅨⅩ°一二三四五六七八九十")
LATIN_PENALTY = 3.0  # X vs X(1.5T): within a tie margin of X itself only when margin > 3


@dataclass
class PairStats:
    """How much work candidate generation did; the benchmark reports these."""

    queries: int = 0
    searched_queries: int = 0
    block_queries: int = 0
    fallback_queries: int = 0
    first_pass_pairs: int = 0
    fine_pairs: int = 0
    index_postings: int = 0

    def add(self, other: PairStats) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _features(text: str) -> list[str]:
    """Characters with their occurrence number, so shared features = shared characters."""
    seen: dict[str, int] = {}
    out = []
    for ch in text:
        seen[ch] = seen.get(ch, 0) + 1
        out.append(f"{ch}{seen[ch]}")
    return out


@dataclass
class ScoringKeys:
    """Per-string forms the scorers need, computed once (library) or once per batch (queries).

    `probe` (sorted characters, bracketed Latin qualifiers left out) drives the index and the
    first pass, so X still finds X(1.5T); `bag` keeps them for the fine score.
    """

    strict: list[str]
    bag: list[str] = field(init=False)
    probe: list[str] = field(init=False)
    stripped: list[str] = field(init=False)
    has_latin: np.ndarray = field(init=False)

    def __post_init__(self) -> None:
        self.bag = ["".join(sorted(loose_key(k))) for k in self.strict]
        self.stripped = [strip_latin_groups(k) for k in self.strict]
        self.probe = ["".join(sorted(loose_key(k))) for k in self.stripped]
        self.has_latin = np.array([bool(LATIN_GROUP.search(k)) for k in self.strict], dtype=bool)


class CandidateIndex:
    """Prefix-filter index of library keys for one minimum score; small enough to broadcast.

    Features are ordered globally, rarest first. Reaching score t needs c >= t*n/(2-t) shared
    features for a string of n features, whatever the other's length, so each library item is
    indexed under its first n-c+1 features only, each query probes with its own first m-c+1,
    and any pair that can reach t shares a feature of both prefixes (the AllPairs filter).
    """

    def __init__(self, keys: ScoringKeys, min_score: float) -> None:
        self.min_score = min_score
        self.size = len(keys.probe)
        features = [_features(text) for text in keys.probe]
        counts: dict[str, int] = {}
        for feats in features:
            for f in feats:
                counts[f] = counts.get(f, 0) + 1
        # Global order: rarest first, ties by the feature text, so it is deterministic.
        ordered = sorted(counts, key=lambda f: (counts[f], f))
        self.rank = {f: r for r, f in enumerate(ordered)}
        owners: list[int] = []
        ranks: list[int] = []
        for i, feats in enumerate(features):
            for r in self._prefix(feats):
                ranks.append(r)
                owners.append(i)
        rank_arr = np.asarray(ranks, dtype=np.int64)
        order = np.argsort(rank_arr, kind="stable")
        self.postings = np.asarray(owners, dtype=np.int64)[order]
        self.df = np.bincount(rank_arr, minlength=len(ordered)).astype(np.int64)
        self.indptr = np.concatenate([[0], np.cumsum(self.df)]).astype(np.int64)
        self.lengths = np.array([len(b) for b in keys.probe], dtype=np.int64)

    def _prefix(self, feats: list[str]) -> list[int]:
        """Ranks of the prefix features; a feature the library lacks ranks first (-1)."""
        t = min(max(self.min_score / 100.0, 0.01), 1.0)
        need = max(1, math.ceil(t * len(feats) / (2.0 - t) - 1e-9))
        ranks = sorted(self.rank.get(f, -1) for f in feats)
        return [r for r in ranks[:len(feats) - need + 1] if r >= 0]

    def pairs(self, bags: Sequence[str], rows: np.ndarray,
              stats: PairStats) -> tuple[np.ndarray, np.ndarray]:
        """(row, item) pairs whose bag score can reach `min_score`, for the query rows given."""
        owner_parts: list[int] = []
        rank_parts: list[int] = []
        for row in rows.tolist():
            if bags[row]:
                probe = self._prefix(_features(bags[row]))
                rank_parts.extend(probe)
                owner_parts.extend([row] * len(probe))
        if not rank_parts:
            return np.empty(0, np.int64), np.empty(0, np.int64)
        rank = np.asarray(rank_parts, dtype=np.int64)
        starts, counts = self.indptr[rank], self.df[rank]
        total = int(counts.sum())
        stats.index_postings += total
        offsets = np.repeat(starts - np.concatenate([[0], np.cumsum(counts)[:-1]]), counts)
        items = self.postings[np.arange(total, dtype=np.int64) + offsets]
        owner = np.repeat(np.asarray(owner_parts, dtype=np.int64), counts)
        pair = unique_ints(owner * self.size + items)
        owner, items = pair // self.size, pair % self.size
        qlen = np.array([len(bags[r]) for r in owner.tolist()], dtype=np.float64)
        llen = self.lengths[items]
        keep = 200.0 * np.minimum(qlen, llen) / (qlen + llen) >= self.min_score - 1e-9
        return owner[keep], items[keep]


def unique_ints(values: np.ndarray) -> np.ndarray:
    """Sorted distinct values; a sort beats numpy's hash-based unique on millions of ints."""
    values = np.sort(values)
    if len(values) == 0:
        return values
    out: np.ndarray = values[np.r_[True, values[1:] != values[:-1]]]
    return out


def bag_scores(queries: ScoringKeys, library: ScoringKeys, rows: np.ndarray, items: np.ndarray,
               cutoff: float, workers: int) -> np.ndarray:
    """First pass: shared characters of each pair (probe forms), 0-100."""
    if len(rows) == 0:
        return np.empty(0, np.float64)
    return np.asarray(process.cpdist([queries.probe[r] for r in rows],
                                     [library.probe[i] for i in items], scorer=fuzz.ratio,
                                     score_cutoff=cutoff, workers=workers), dtype=np.float64)


def fine_scores(queries: ScoringKeys, library: ScoringKeys, rows: np.ndarray,
                items: np.ndarray, workers: int, latin_penalty: float = LATIN_PENALTY) -> np.ndarray:
    """The re-rank score on short-listed pairs (see module docstring)."""
    if len(rows) == 0:
        return np.empty(0, np.float64)
    q = [queries.strict[r] for r in rows]
    ordered = process.cpdist(q, [library.strict[i] for i in items], scorer=fuzz.ratio,
                             workers=workers)
    bag = process.cpdist([queries.bag[r] for r in rows], [library.bag[i] for i in items],
                         scorer=fuzz.ratio, workers=workers)
    best = np.maximum(np.asarray(ordered, np.float64), np.asarray(bag, np.float64) - BAG_PENALTY)
    alt = ~queries.has_latin[rows] & library.has_latin[items]
    if alt.any():
        sel = np.flatnonzero(alt)
        stripped = process.cpdist([q[k] for k in sel], [library.stripped[items[k]] for k in sel],
                                  scorer=fuzz.ratio, workers=workers)
        best[sel] = np.maximum(best[sel], np.asarray(stripped, np.float64) - latin_penalty)
    out: np.ndarray = np.round(best, 4)
    return out


def top_per_row(rows: np.ndarray, items: np.ndarray, scores: np.ndarray,
                k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The k best (row, item, score) per row, best first, ties broken by library order."""
    if len(rows) == 0 or k <= 0:
        return rows[:0], items[:0], scores[:0]
    order = np.lexsort((items, -scores, rows))
    rows, items, scores = rows[order], items[order], scores[order]
    first = np.flatnonzero(np.r_[True, rows[1:] != rows[:-1]])
    rank = np.arange(len(rows)) - np.repeat(first, np.diff(np.r_[first, len(rows)]))
    keep = rank < k
    return rows[keep], items[keep], scores[keep]


def all_pairs_top(queries: ScoringKeys, library: ScoringKeys, rows: np.ndarray, k: int,
                  cutoff: float, workers: int, stats: PairStats,
                  chunk: int = 2000) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Without blocking or prefilter: the bag score against the whole library (for comparison)."""
    out_r, out_i, out_s = [], [], []
    for start in range(0, len(rows), chunk):
        part = rows[start:start + chunk]
        matrix = process.cdist([queries.probe[r] for r in part], library.probe, scorer=fuzz.ratio,
                               score_cutoff=cutoff, workers=workers, dtype=np.float32)
        stats.first_pass_pairs += matrix.size
        take = min(k, matrix.shape[1])
        top = np.argpartition(-matrix, take - 1, axis=1)[:, :take]
        out_r.append(np.repeat(part, take))
        out_i.append(top.ravel().astype(np.int64))
        out_s.append(np.take_along_axis(matrix, top, axis=1).ravel().astype(np.float64))
    if not out_r:
        return rows[:0], rows[:0], np.empty(0)
    r, i, s = np.concatenate(out_r), np.concatenate(out_i), np.concatenate(out_s)
    keep = s > 0
    return r[keep], i[keep], s[keep]


def swaps_words(query: str, item: str) -> bool:
    """A near spelling that swaps characters (肱骨/胫骨, (大)/(小), 静态/动态) or differs in Latin
    letters, digits or numerals (S1/S2, I/II型) usually names another item: not accepted
    automatically. The same characters in another order (复杂X for X(复杂)) are fine."""
    a, b = loose_key(query), loose_key(item)
    if sorted(a) == sorted(b):
        return False
    for op in Levenshtein.opcodes(a, b):
        changed = a[op.src_start:op.src_end] + b[op.dest_start:op.dest_end]
        if op.tag == "replace" or (op.tag != "equal" and any(
                (ch.isascii() and ch.isalnum()) or ch in _NUMERALS for ch in changed)):
            return True
    return False
