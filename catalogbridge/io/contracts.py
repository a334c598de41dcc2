"""The input contract: which columns each input must carry, and their types."""

from __future__ import annotations

from dataclasses import dataclass

from pyspark.sql.types import (
    DataType,
    DoubleType,
    IntegerType,
    StringType,
    TimestampType,
)

from catalogbridge.columns import FEE_TYPE


@dataclass(frozen=True)
class InputContract:
    name: str
    required: dict[str, DataType]
    optional: dict[str, DataType]
    lineage: bool = False  # rows carry their file split and position (io.readers)

    @property
    def columns(self) -> dict[str, DataType]:
        return {**self.required, **self.optional}


NATIONAL_ITEMS = InputContract(
    name="national_items",
    required={"item_code": StringType(), "item_name": StringType()},
    optional={"item_desc": StringType(), "unit": StringType()},
)

CATALOGS = InputContract(
    name="catalogs",
    required={
        "admdvs": StringType(),
        "item_code": StringType(),
        "item_name": StringType(),
        "chrgitm_lv": StringType(),
    },
    optional={"national_code": StringType(), "unit": StringType(), "price": DoubleType()},
)

SETTLEMENTS = InputContract(
    name="settlements",
    required={
        "feedetl_sn": StringType(),
        "setl_id": StringType(),
        "mdtrt_id": StringType(),
        "psn_no": StringType(),
        "insuplc_admdvs": StringType(),
        "mdtrtarea_admvs": StringType(),
        "med_type": StringType(),
        "medins_list_codg": StringType(),
        "medins_list_name": StringType(),
        "det_item_fee_sumamt": FEE_TYPE,
        "fee_ocur_time": TimestampType(),
    },
    optional={
        "cnt": DoubleType(),
        "pric": DoubleType(),
        "fixmedins_code": StringType(),
        "gend": StringType(),
        "age": IntegerType(),
        "med_list_codg": StringType(),
        # Cross-region care analytics (catalogbridge.flows): each enables the analyses that
        # need it; without it they are skipped with a log line.
        "filing_type": StringType(),  # 异地备案类别, code or name (conf flows.filing_types)
        "psn_type": StringType(),  # 人员类别, e.g. 在职 / 退休
        "hosp_lv": StringType(),  # 医院等级, NHSA code or name (conf flows.hospital_levels)
        "fund_pay_sumamt": FEE_TYPE,  # fund-paid amount of the line
        "begntime": TimestampType(),  # the stay's start and end
        "endtime": TimestampType(),
    },
    lineage=True,
)

INSTITUTIONS = InputContract(
    name="institutions",
    required={"fixmedins_code": StringType()},
    optional={"fixmedins_name": StringType(), "admdvs": StringType(), "hosp_lv": StringType()},
)
