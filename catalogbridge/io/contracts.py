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
    },
    lineage=True,
)
