"""What reviewers' decisions on one real list teach the matcher about the rest of it and another.

The replay a national rollout goes through: province A's reviewers work through the first part
of their review queue (the dearest items first; `share` of the queue) and decide each item
as a reviewer who got it right would (the truth's code), and the next run reads A's list and
province B's. Decisions and learned rules are applied by the pipeline's own code
(`matching.review.apply_decisions`, then `matching.learning`) on the names-only matches of both
lists. Reported per direction: the decisions; the items of A's queue left undecided and of B's
queue; how many of each a learned rule resolved, and how many of those are the right family.
Items whose truth has no code (a family only) are not decided: a reviewer writes a code, and
guessing one would teach what nobody decided.
"""

from __future__ import annotations

import pandas as pd
from pyspark.sql import DataFrame, SparkSession
from real_lists import family_of

from catalogbridge.matching.learning import apply_learning
from catalogbridge.matching.review import SET_CODE, apply_decisions
from catalogbridge.names import LEARNED
from udfs.matching import RESULT_COLUMNS

_KEY = ("catalog_region", "local_code")
_MAPPING_SCHEMA = ", ".join(["catalog_region string", "local_code string", "local_name string",
                             *(f"{c} {t}" for c, t in RESULT_COLUMNS.items()), "run_id string"])


def decisions_for(region: str, matched: pd.DataFrame, share: float) -> pd.DataFrame:
    """The decisions a reviewer of `region` writes: the true code of each item in the dearest
    `share` of the queue (the price as listed; the pipeline's queue orders by money billed)."""
    queue = matched[~matched["is_auto"]].assign(
        _price=pd.to_numeric(matched["price"], errors="coerce").fillna(0.0))
    queue = queue.sort_values(["_price", "row"], ascending=[False, True], kind="stable")
    seen = queue.head(round(share * len(queue)))
    todo = seen[seen["true_code"].ne("") & seen["true_family"].ne("")]
    return pd.DataFrame({
        "catalog_region": region, "local_code": todo["local_code"], "match_key": todo["match_key"],
        "decision_action": SET_CODE, "decision_candidate": None,
        "decision_code_given": todo["true_code"], "decided_by": "replay", "decided_on": None,
    }).astype(object)


def _mapping(spark: SparkSession, lists: dict[str, pd.DataFrame]) -> DataFrame:
    rows = pd.concat([m.assign(catalog_region=region) for region, m in lists.items()])
    rows = rows[[*_KEY, "local_name", *RESULT_COLUMNS]].assign(run_id="replay")
    rows = rows.astype(object).where(rows.notna(), None)
    return spark.createDataFrame(rows, _MAPPING_SCHEMA)


def replay(spark: SparkSession, lists: dict[str, pd.DataFrame], national: DataFrame,
           teacher: str, learner: str, share: float) -> dict[str, object]:
    """One direction: `teacher`'s decisions applied, then what was learned in both lists.

    `lists` are scored names-only matches (`real_lists.score`); an item's local code is its
    row in the source file (the list's own codes repeat and are not what is measured here).
    """
    lists = {region: m.assign(local_code=m["row"].astype(str)) for region, m in lists.items()}
    decisions = decisions_for(teacher, lists[teacher], share)
    mapping = _mapping(spark, {teacher: lists[teacher], learner: lists[learner]}).transform(
        apply_decisions, decisions=decisions, national=national, spark=spark)
    learned = (mapping.transform(apply_learning, national=national)
               .where(f"method = '{LEARNED}'").select(*_KEY, "national_code").toPandas())
    truth = pd.concat([lists[r].assign(catalog_region=r) for r in (teacher, learner)])
    learned = learned.merge(truth[[*_KEY, "true_family"]], on=list(_KEY), validate="1:1")
    learned["right"] = learned["national_code"].map(family_of).eq(learned["true_family"])
    in_learner = learned["catalog_region"] == learner
    queued = int((~lists[teacher]["is_auto"]).sum())
    return {"teacher": teacher, "learner": learner, "queue_share_decided": share,
            "decisions": len(decisions), "teacher_undecided": queued - round(share * queued),
            "learned_in_teacher": int((~in_learner).sum()),
            "right_in_teacher": int(learned.loc[~in_learner, "right"].sum()),
            "learner_review": int((~lists[learner]["is_auto"]).sum()),
            "learned_in_learner": int(in_learner.sum()),
            "right_in_learner": int(learned.loc[in_learner, "right"].sum())}
