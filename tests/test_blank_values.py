"""Empty and whitespace-only text is a missing value in every required field and format.

Many hospital systems export missing text as "" or padding rather than null; such a row
must be quarantined with the same reason as a null one, never counted as clean.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from pyspark.sql import SparkSession
from pyspark.sql import functions as F

from catalogbridge.io.contracts import SETTLEMENTS
from catalogbridge.io.readers import InputSpec, read_input
from catalogbridge.names import (
    INVALID_REGION,
    MISSING_FEEDETL_SN,
    MISSING_ITEM_CODE,
    MISSING_ITEM_NAME,
    MISSING_VISIT_ID,
)
from catalogbridge.quality.rules import rule_severities
from catalogbridge.transforms.cleaning import rule_checks, with_reasons, with_regions

GOOD = {"feedetl_sn": "1", "setl_id": "S1", "mdtrt_id": "V1", "psn_no": "P1",
        "insuplc_admdvs": "330100", "mdtrtarea_admvs": "310100", "med_type": "21",
        "medins_list_codg": "SH01", "medins_list_name": "心理咨询", "det_item_fee_sumamt": "100",
        "fee_ocur_time": "2023-05-01 10:00:00"}
# field blanked -> the reason its row must carry
FIELDS = {"medins_list_codg": MISSING_ITEM_CODE, "medins_list_name": MISSING_ITEM_NAME,
          "feedetl_sn": MISSING_FEEDETL_SN, "mdtrt_id": MISSING_VISIT_ID,
          "insuplc_admdvs": INVALID_REGION, "mdtrtarea_admvs": INVALID_REGION}
# CSV reads an empty field as null already, so only padding tests blanks there.
BLANKS = {"csv": ("  ", "\u3000", " \t "), "parquet": ("", "  ", "\u3000"),
          "xlsx": ("", "  ", "\u3000")}


def _rows(fmt: str) -> pd.DataFrame:
    rows = [dict(GOOD, feedetl_sn="ok")]
    for field in FIELDS:
        for n, blank in enumerate(BLANKS[fmt]):
            row = dict(GOOD, feedetl_sn=f"{field}-{n}", setl_id=f"{field}-{n}")
            rows.append({**row, field: blank})
    return pd.DataFrame(rows, dtype=str)


def _write(frame: pd.DataFrame, fmt: str, path: Path) -> Path:
    target = path / f"settlements.{fmt}"
    if fmt == "csv":
        frame.to_csv(target, index=False, encoding="utf-8")
    elif fmt == "parquet":
        frame.to_parquet(target, index=False)
    else:
        frame.to_excel(target, index=False, engine="openpyxl")
    return target


@pytest.mark.parametrize("fmt", ["csv", "parquet", "xlsx"])
def test_blank_required_text_is_missing_with_its_reason(spark: SparkSession, tmp_path: Path,
                                                        fmt: str) -> None:
    path = _write(_rows(fmt), fmt, tmp_path)
    rows = read_input(spark, InputSpec(path=str(path)), SETTLEMENTS)
    rules = [(code, cond) for code, cond in rule_checks(period_start=None, period_end=None,
                                                        med_types=[]) if code in FIELDS.values()]
    checked = (rows.transform(with_regions, region_level="province")
               .transform(with_reasons, rules=rules, severities=rule_severities({})))
    got = {r["setl_id"]: sorted(r["reasons"]) for r in checked.select(
        "setl_id", F.array_distinct("reasons").alias("reasons")).collect()}
    expected = {"S1": []}
    expected.update({f"{field}-{n}": [reason] for field, reason in FIELDS.items()
                     for n in range(len(BLANKS[fmt]))})
    # A blank serial number is missing, not a duplicate of the other blank ones.
    assert got == expected
