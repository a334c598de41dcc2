"""The decision of one insured region: which items to add for all its insured at once.

A province that adds an item pays for its insured at home and in every region covering it.
The per-pair tables count the home use once per pair (with 30 treatment regions, 30 times);
here every item not covered in P that P's insured used in at least one covering region (the
union over T of P's discrepant items) appears once, its home use counted once and its use in
the covering regions summed (a visit takes place in one region, so the sums are distinct
visits). The per-pair detail stays in `discrepant_items`.
"""

from __future__ import annotations

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType

from catalogbridge.columns import amount
from catalogbridge.decisions.settings import THRESHOLD_MEASURES
from catalogbridge.names import INSURED, TREATMENT
from catalogbridge.transforms.discrepancy import ITEM_COLUMNS
from catalogbridge.transforms.scenarios import in_scope, threshold_schemes


def insured_decisions(discrepant: DataFrame) -> DataFrame:
    """One row per insured region and item it does not cover that its insured used where covered.

    `covering_regions`: the treatment regions covering the item where P's insured used it;
    `visits_away`/`fee_away`: their use there; `visits_home`/`fee_home`: at home, once.
    """
    return (
        discrepant.groupBy(INSURED, *ITEM_COLUMNS, "visits_home", "fee_home")
        .agg(F.count(TREATMENT).cast(LongType()).alias("covering_regions"),
             F.sum("visits_treatment").cast(LongType()).alias("visits_away"),
             amount(F.sum("fee_treatment")).alias("fee_away"))
        .select(INSURED, *ITEM_COLUMNS, "covering_regions", "visits_away", "fee_away",
                "visits_home", "fee_home",
                (F.col("visits_away") + F.col("visits_home")).alias("visits_total"),
                amount(F.col("fee_away") + F.col("fee_home")).alias("fee_total"))
    )


def insured_scenarios(decisions: DataFrame, *, insured: DataFrame, spark: SparkSession,
                      thresholds: list[int], scope: str, threshold_on: str) -> DataFrame:
    """The threshold schemes of every insured region on its decision view.

    Scheme n adds the in-scope items whose visits (`threshold_on`) reach thresholds[n-1];
    visits and added spend are the insured's at home and in covering regions. `insured`
    lists every insured region with cross-region use (those without discrepant items get
    zeros).
    """
    items = in_scope(decisions, scope).select(
        INSURED, "national_code", F.col(THRESHOLD_MEASURES[threshold_on]).alias("_measure"),
        F.col("visits_total").alias("_visits"), F.col("fee_total").alias("_spend"))
    return threshold_schemes(items, keys=(INSURED,), units=insured, spark=spark,
                             thresholds=thresholds)
