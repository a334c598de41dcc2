"""The matcher's settings (`MatchParams`, `matching` in conf/base.yaml) and how its core runs
(`Execution`); shared by the search (udfs/search.py) and the decision (udfs/matching.py)."""

from __future__ import annotations

from dataclasses import dataclass

from catalogbridge.settings import SettingError

_SCORES = ("accept_score", "review_score", "tie_margin", "code_name_min_score",
           "prefilter_score", "candidate_floor", "block_min_score")


@dataclass(frozen=True)
class MatchParams:
    """What the matcher decides with; `conf/base.yaml` (`matching`) documents each value."""

    accept_score: float = 92.0  # fuzzy score (0-100) to accept a match automatically
    review_score: float = 70.0  # from here to accept_score: the review queue
    tie_margin: float = 2.0  # best - runner-up below this goes to review even if high
    code_name_min_score: float = 60.0  # a code counts only if the names agree this well
    batch_size: int = 2000  # catalog items scored per vectorised call
    top_k: int = 5  # candidates kept per item (review queue, top-5 evaluation)
    shortlist: int = 10  # first-pass survivors that get the fine score
    prefilter_score: float = 70.0  # first-pass score below which an item is never compared
    candidate_floor: float = 50.0  # an item with no candidate is searched again from here
    block_min_score: float = 92.0  # a block whose best is weaker falls back to the library
    blocking: bool = True  # search the section a local code reveals first

    def __post_init__(self) -> None:
        for key in _SCORES:
            if not 0 <= getattr(self, key) <= 100:
                raise SettingError(key, "must be between 0 and 100")
        if self.review_score > self.accept_score:
            raise SettingError("review_score", "must not exceed accept_score")
        for key in ("batch_size", "top_k", "shortlist"):
            if getattr(self, key) < 1:
                raise SettingError(key, "must be at least 1")
        if self.shortlist < self.top_k:
            raise SettingError("shortlist", "must be at least top_k")


@dataclass(frozen=True)
class Execution:
    """How the core runs, not what it decides; only the benchmarks change these."""

    workers: int = 1  # rapidfuzz threads per call (-1: all cores)
    prefilter: bool = True  # False: first pass over the whole library
