"""Matching on real public price lists, against a truth made without the matcher.

Sets are the lists `scripts/price_lists/build.py` rebuilds into `data/price_lists/<id>.tsv`
(not committed: see `scripts/price_lists/sources.yaml` for each list's licence). The truth of
a set is either hand-made labels (`scripts/price_lists/labels/<id>.tsv`: row, family, code,
status `in_sample` | `absent` | `unsure`; no names, so it is ours to commit) or the list's own
national codes (`spec_base`, `nhsa_code`) where they are national. Each set is matched twice:
names only (codes stripped) and with the list's codes.

Family level: a match is right when its 9-digit base is the truth's family; code level when
the code is the truth's code (rows labelled with one). An item whose family the library lacks
(`absent`) is right only if nothing is accepted for it; `unsure` rows are left out.
Review share is items without an automatic match; weighted by the list's price where given.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from udfs.families import family_code
from udfs.matching import MatchParams, NationalLibrary, map_items

LABELS = Path(__file__).resolve().parent / "price_lists" / "labels"
IN_SAMPLE, ABSENT = "in_sample", "absent"
_PAIRED = re.compile(r"^00\d{13}-(.+)$")


def family_of(code: object) -> str:
    """The family of a code as the matcher reads it; blank for a missing code."""
    return family_code(code) if isinstance(code, str) else ""


def load_sets(lists_dir: Path, labels_dir: Path = LABELS) -> dict[str, pd.DataFrame]:
    """Items with their truth per set: local_code, local_name, price, true_family, true_code."""
    sets: dict[str, pd.DataFrame] = {}
    for path in sorted(lists_dir.glob("*.tsv")):
        if path.name.endswith(".dropped.tsv"):
            continue
        items = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
        labels = labels_dir / path.name
        if labels.is_file():
            truth = pd.read_csv(labels, sep="\t", dtype=str, keep_default_na=False)
            truth = truth[truth["status"].isin([IN_SAMPLE, ABSENT])]
            items = items.merge(truth[["row", "family", "code", "status"]], on="row",
                                how="inner", validate="1:1")
            items["true_family"] = items["family"].where(items["status"] == IN_SAMPLE, "")
            items["true_code"] = items["code"]
        elif items["spec_base"].ne("").any() or items["nhsa_code"].ne("").any():
            items = items[items["spec_base"].ne("") | items["nhsa_code"].ne("")].copy()
            items["true_family"] = items["nhsa_code"].map(family_of).where(
                items["nhsa_code"].ne(""), items["spec_base"])
            items["true_code"] = items["nhsa_code"]
        else:
            continue  # neither labels nor national codes: no truth to measure against
        sets[path.stem] = items.reset_index(drop=True)
    return sets


def restrict_to_library(items: pd.DataFrame, library: NationalLibrary) -> pd.DataFrame:
    """Code-given truth: a family the library lacks is `absent` (nothing may be accepted)."""
    families = set(library.families.members)
    out = items.copy()
    out["true_family"] = out["true_family"].where(out["true_family"].isin(families), "")
    return out


def local_part(code: str) -> str:
    """The list's own code: a `<15-digit NHSA>-<local>` pair gives the local one only, since
    the NHSA half is the truth being measured."""
    return m.group(1) if (m := _PAIRED.match(code)) else code


def match_set(items: pd.DataFrame, library: NationalLibrary, params: MatchParams,
              with_codes: bool) -> pd.DataFrame:
    codes = [local_part(c) for c in items["local_code"]] if with_codes else [None] * len(items)
    result = map_items(codes, items["local_name"].tolist(), [None] * len(items), library, params)
    return pd.concat([items.reset_index(drop=True), result], axis=1)


def score(matched: pd.DataFrame) -> pd.DataFrame:
    """Per item: automatic or not, right at family and code level, truth in the top 1 / 5."""
    out = matched.copy()
    out["is_auto"] = (out["review_status"] == "auto") & out["national_code"].notna()
    chosen = out["national_code"].map(family_of)
    out["family_right"] = out["is_auto"] & (chosen == out["true_family"]) & (
        out["true_family"] != "")
    out["code_right"] = out["is_auto"] & (out["national_code"] == out["true_code"])
    ranked = [list(dict.fromkeys(([c] if isinstance(c, str) else []) + list(cands or [])))
              for c, cands in zip(out["national_code"], out["candidate_codes"], strict=True)]
    fams = [[family_of(c) for c in r] for r in ranked]
    out["top1_family"] = [bool(f) and f[0] == t for f, t in zip(fams, out["true_family"],
                                                                strict=True)]
    out["top5_family"] = [t in f[:5] for f, t in zip(fams, out["true_family"], strict=True)]
    out["top1_code"] = [bool(r) and r[0] == t for r, t in zip(ranked, out["true_code"],
                                                              strict=True)]
    out["top5_code"] = [t in r[:5] for r, t in zip(ranked, out["true_code"], strict=True)]
    out["weight"] = pd.to_numeric(out["price"], errors="coerce").fillna(0.0).clip(lower=0.0)
    return out


def metrics(items: pd.DataFrame) -> dict[str, float]:
    """The figures of one set (rows from `score`)."""
    n, auto = len(items), int(items["is_auto"].sum())
    known = items["true_family"] != ""
    coded = items["true_code"] != ""
    coded_auto = items["is_auto"] & coded
    weight = float(items["weight"].sum())

    def share(mask: pd.Series, of: pd.Series) -> float:
        return float(mask[of].mean()) if of.any() else float("nan")

    return {
        "items": n, "in_library": int(known.sum()), "auto": auto,
        "precision_family": items["family_right"].sum() / auto if auto else float("nan"),
        "precision_code": share(items["code_right"], coded_auto),
        "review": float((~items["is_auto"]).mean()) if n else float("nan"),
        "review_in_library": share(~items["is_auto"], known),
        "review_price_weighted": float(items.loc[~items["is_auto"], "weight"].sum()) / weight
        if weight else float("nan"),
        "top1_family": share(items["top1_family"], known),
        "top5_family": share(items["top5_family"], known),
        "top1_code": share(items["top1_code"], coded),
        "top5_code": share(items["top5_code"], coded),
        "wrong_auto": auto - int(items["family_right"].sum()),
    }


def mistakes(items: pd.DataFrame, library: NationalLibrary) -> pd.DataFrame:
    """Automatic matches of the wrong family: the local name, the chosen item, the right one."""
    name_of = dict(zip(library.codes, library.names, strict=True))
    main_of = {f: library.codes[i] for f, i in library.families.main.items()}
    wrong = items[items["is_auto"] & ~items["family_right"]]
    right = [name_of.get(c or main_of.get(f, ""), f"(family {f})") if f else "(not in library)"
             for c, f in zip(wrong["true_code"], wrong["true_family"], strict=True)]
    return pd.DataFrame({"local_name": wrong["local_name"], "method": wrong["method"],
                         "chosen": wrong["national_code"] + " " + wrong["national_name"],
                         "right": right})
