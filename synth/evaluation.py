"""How far an analyst can trust the catalog mapping: metrics against a ground truth.

Used by `scripts/eval_matching.py` (`make eval-matching`) on the generator's ground truth and on
local-style spellings of the real NHSA names. Everything here is pandas on catalog-sized data.

Definitions (per region and overall):
  precision   correct / automatically accepted (review_status auto)
  recall      correct automatic matches / all items
  review      items left without a code (the review queue) / all items
  top-1/top-5 the true code is the first / among the first five candidates
  fee shares  the same split weighted by the settlement fees billed under each item
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

AUTO = "auto"
METRIC_COLUMNS = ["items", "auto", "precision", "recall", "review_rate", "wrong_auto",
                  "top1", "top5", "fee_total", "fee_correct_share", "fee_review_share",
                  "fee_wrong_share"]


def settlement_fees(settlements: pd.DataFrame) -> pd.DataFrame:
    """Fees billed under each (catalog region, local code): the province of the treatment place."""
    fee = pd.to_numeric(settlements["det_item_fee_sumamt"], errors="coerce")
    frame = pd.DataFrame({
        "catalog_region": settlements["mdtrtarea_admvs"].astype(str).str[:2] + "0000",
        "local_code": settlements["medins_list_codg"].astype(str),
        "fee": fee.where(fee > 0),
    })
    out: pd.DataFrame = frame.groupby(["catalog_region", "local_code"], as_index=False).agg(
        fee=("fee", "sum"))
    return out


def scored_items(mapping: pd.DataFrame, truth: pd.DataFrame,
                 fees: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per catalog item with its outcome against the truth and its fee."""
    key = ["catalog_region", "local_code"]
    items = mapping.merge(truth[[*key, "true_code"]], on=key, how="inner", validate="1:1")
    if len(items) != len(mapping):
        raise ValueError(f"{len(mapping) - len(items)} mapped items have no ground truth")
    if fees is not None:
        items = items.merge(fees, on=key, how="left")
    else:
        items["fee"] = 0.0
    items["fee"] = items["fee"].fillna(0.0).astype(float)
    codes = items["national_code"]
    items["is_auto"] = (items["review_status"] == AUTO) & codes.notna()
    items["is_correct"] = items["is_auto"] & (codes == items["true_code"])
    items["in_queue"] = codes.isna()
    cands = items["candidate_codes"].map(lambda c: list(c) if c is not None else [])
    items["top1"] = [len(c) > 0 and c[0] == t for c, t in zip(cands, items["true_code"],
                                                                strict=True)]
    items["top5"] = [t in c[:5] for c, t in zip(cands, items["true_code"], strict=True)]
    return items


def _metrics(items: pd.DataFrame) -> dict[str, float]:
    n = len(items)
    auto = int(items["is_auto"].sum())
    wrong = auto - int(items["is_correct"].sum())
    fee_total = float(items["fee"].sum())

    def fee_share(mask: pd.Series) -> float:
        return float(items.loc[mask, "fee"].sum()) / fee_total if fee_total else float("nan")

    return {
        "items": n, "auto": auto,
        "precision": items["is_correct"].sum() / auto if auto else float("nan"),
        "recall": items["is_correct"].sum() / n if n else float("nan"),
        "review_rate": items["in_queue"].mean() if n else float("nan"),
        "wrong_auto": wrong,
        "top1": items["top1"].mean() if n else float("nan"),
        "top5": items["top5"].mean() if n else float("nan"),
        "fee_total": fee_total,
        "fee_correct_share": fee_share(items["is_correct"]),
        "fee_review_share": fee_share(items["in_queue"]),
        "fee_wrong_share": fee_share(items["is_auto"] & ~items["is_correct"]),
    }


def evaluate(items: pd.DataFrame, by: str = "catalog_region") -> pd.DataFrame:
    """Metrics per `by` value plus an 'overall' row (items from `scored_items`)."""
    rows = [{by: value, **_metrics(group)} for value, group in items.groupby(by, sort=True)]
    rows.append({by: "overall", **_metrics(items)})
    return pd.DataFrame(rows, columns=[by, *METRIC_COLUMNS])


def threshold_table(items: pd.DataFrame, thresholds: Sequence[float]) -> pd.DataFrame:
    """Precision of the best fuzzy candidate at each score threshold (items matched by name search).

    Shows what moving `accept_score` or `review_score` would do: at threshold t, the items whose
    best candidate scores at least t, and how often that candidate is right.
    """
    fuzzy = items[items["method"].isin(["fuzzy_auto", "unmatched"]) & items["score"].notna()]
    best = fuzzy["candidate_codes"].map(lambda c: c[0] if c is not None and len(c) else None)
    right = best == fuzzy["true_code"]
    rows = []
    for t in thresholds:
        sel = fuzzy["score"] >= t
        rows.append({"threshold": t, "items": int(sel.sum()),
                     "share_of_fuzzy": float(sel.mean()) if len(fuzzy) else float("nan"),
                     "precision": float(right[sel].mean()) if sel.any() else float("nan")})
    return pd.DataFrame(rows)


def local_variants(names: Sequence[str], seed: int = 0) -> list[str]:
    """One local-catalog spelling per national name, as provinces write them.

    Full-width or 【】 brackets, spaces, a trailing 费, 检测 for 测定, 显像/显象, a scope note,
    a qualifier moved to the front (儿童X for X(儿童)), a dash for a surcharge bracket, Latin
    case. Deterministic for a seed; one to three changes per name.
    """
    rng = np.random.default_rng(seed)
    out = []
    for name in names:
        s = str(name)
        for change in rng.permutation(len(_CHANGES))[:int(rng.integers(1, 4))]:
            s = _CHANGES[int(change)](s, rng)
        out.append(s)
    return out


def _brackets(s: str, rng: np.random.Generator) -> str:
    opening, closing = ("（", "）") if rng.random() < 0.7 else ("【", "】")
    return s.replace("(", opening).replace(")", closing)


def _fee(s: str, rng: np.random.Generator) -> str:
    return s if s.endswith(("费", ")", "）")) else s + "费"


def _synonym(s: str, rng: np.random.Generator) -> str:
    return s.replace("测定", "检测").replace("显象", "显像").replace("图象", "图像")


def _note(s: str, rng: np.random.Generator) -> str:
    return s + ("(含材料)", "(不含耗材)", "（含图文报告）")[int(rng.integers(3))]


def _spaces(s: str, rng: np.random.Generator) -> str:
    if len(s) < 4:
        return s
    k = int(rng.integers(1, len(s) - 1))
    return s[:k] + " " + s[k:]


def _front(s: str, rng: np.random.Generator) -> str:
    if s.endswith(")") and "(" in s:
        head, _, qual = s[:-1].rpartition("(")
        if head and 1 <= len(qual) <= 4 and "(" not in head and not qual.endswith("加收"):
            return qual + head
    return s


def _dash(s: str, rng: np.random.Generator) -> str:
    if s.endswith("加收)") and "(" in s:
        head, _, qual = s[:-1].rpartition("(")
        return f"{head}-{qual}"
    return s


def _case(s: str, rng: np.random.Generator) -> str:
    return s.lower() if rng.random() < 0.5 else s.upper()


_CHANGES = (_brackets, _fee, _synonym, _note, _spaces, _front, _dash, _case)
