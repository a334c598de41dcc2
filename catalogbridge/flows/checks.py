"""What the flow analyses could not read: unknown filing types and hospital levels, and region
codes the reference data does not know (kept in every table, without distance or population).

The table `flow_quality` is bounded by distinct unknown values; the quality report lists it.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from catalogbridge.flows.visits import UNKNOWN
from catalogbridge.names import INSURED, TREATMENT

UNKNOWN_FILING_TYPE = "unknown_filing_type"
UNKNOWN_HOSPITAL_LEVEL = "unknown_hospital_level"
REGION_NOT_IN_REFERENCE = "region_not_in_reference"
FIXES = {
    UNKNOWN_FILING_TYPE: "add the code and its name to flows.filing_types",
    UNKNOWN_HOSPITAL_LEVEL: "add the code and its name to flows.hospital_levels",
    REGION_NOT_IN_REFERENCE: "add the region to the file flows.regions_path points at",
}


def flow_quality(visits: DataFrame, *, spark: SparkSession, reference_codes: Sequence[str]) -> DataFrame:
    """check, value, side, visits, lines (clean settlement rows) and the fix."""
    def counted(df: DataFrame, check: str, value: str, side: str) -> DataFrame:
        return df.groupBy(F.lit(check).alias("check"), F.col(value).alias("value"),
                          F.lit(side).alias("side")).agg(
            F.count(F.lit(1)).alias("visits"), F.sum("lines").alias("lines"))

    filing = counted(visits.where(F.col("filing_type") == UNKNOWN), UNKNOWN_FILING_TYPE,
                     "filing_type_raw", "")
    level = counted(visits.where(F.col("hosp_level") == UNKNOWN), UNKNOWN_HOSPITAL_LEVEL,
                    "hosp_level_raw", "")
    known = F.broadcast(spark.createDataFrame([(c,) for c in reference_codes], "code string"))
    regions = [counted(visits.join(known, visits[column] == known["code"], "left_anti"),
                       REGION_NOT_IN_REFERENCE, column, side)
               for column, side in ((INSURED, "insured"), (TREATMENT, "treatment"))]
    fix = F.create_map(*[F.lit(x) for kv in FIXES.items() for x in kv])
    out = filing.unionByName(level).unionByName(regions[0]).unionByName(regions[1])
    return out.withColumn("fix", fix[F.col("check")])
