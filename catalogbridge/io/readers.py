"""Reading the inputs under the contract (conf `inputs`).

Inputs are read as text, renamed with the user's `columns:` map, checked for required
columns before any heavy work, and cast with `try_` functions so a malformed value becomes
a null that cleaning quarantines instead of an exception that kills the run. Empty and
whitespace-only text is null in every format.
"""

from __future__ import annotations

import codecs
import glob
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DataType,
    DecimalType,
    DoubleType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from catalogbridge.io.contracts import InputContract
from catalogbridge.names import RAW_SUFFIX, SOURCE_FILE, SOURCE_SPLIT, SPLIT_RECORD
from catalogbridge.settings import SettingError, check_choice

EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet",
               ".xlsx": "xlsx", ".xlsm": "xlsx"}
_TIME_FORMATS = ("yyyyMMddHHmmss", "yyyy/M/d H:mm:ss", "yyyy/M/d", "yyyyMMdd")
FORMATS = ("auto", "csv", "parquet", "xlsx")
ENCODINGS = ("utf-8", "gb18030", "gbk")


@dataclass(frozen=True)
class InputSpec:
    """One input: where it is, how it is encoded, and how its headers map to the contract."""

    path: str
    format: str = "auto"
    encoding: str = "utf-8"
    delimiter: str = ","
    sheet: str | None = None
    columns: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.path:
            raise SettingError("path", "is empty")
        check_choice("format", self.format, FORMATS)
        check_choice("encoding", self.encoding.lower(), ENCODINGS)


@dataclass(frozen=True)
class InputsSettings:
    """The inputs of a run (conf `inputs`); the institution table is optional."""

    national_items: InputSpec
    catalogs: InputSpec
    settlements: InputSpec
    institutions: InputSpec | None = None  # fixmedins_code, name, region, level (flows)


class InputError(ValueError):
    """An input that cannot be used as given; the message says which file and what to fix."""


def read_input(spark: SparkSession, spec: InputSpec, contract: InputContract,
               files: list[str] | None = None) -> DataFrame:
    """Read one input (only `files`, URIs under its path, when given), apply the rename map,
    check required columns and cast to the contract."""
    fmt = resolve_input_format(spec, contract.name)
    if fmt == "xlsx":
        raw = _read_xlsx(spark, spec, contract, files)
    else:
        if fmt == "csv":
            probe = [f.removeprefix("file://") for f in files if f.startswith("file:")] \
                if files is not None else _local_files(spec.path, "csv")
            for file in probe[:_ENCODING_PROBE_FILES]:
                check_encoding(file, spec.encoding, contract.name)
        raw = _read_spark(spark, spec, fmt, contract.name, files)
        if contract.lineage:
            raw = raw.withColumns(split_lineage(spark))
    renamed = apply_renames(raw, spec.columns)
    check_required_columns(renamed.columns, contract, spec)
    if renamed.isEmpty():
        raise InputError(f"inputs.{contract.name} ({spec.path}): no data rows; check the path "
                         "and that the file has rows below its header")
    return conform_to_contract(renamed, contract)


_ENCODING_PROBE_FILES = 64
_ENCODING_PROBE_BYTES = 4 << 20


def _local_files(path: str, fmt: str) -> list[str]:
    """Local files behind a file, directory or glob (remote paths are not probed)."""
    if "://" in path and not path.startswith("file://"):
        return []
    path = path.removeprefix("file://")
    if os.path.isdir(path):
        return sorted(os.path.join(path, f) for f in os.listdir(path)
                      if EXTENSIONS.get(Path(f).suffix.lower()) == fmt)
    return sorted(glob.glob(path))


def check_encoding(file: str, encoding: str, name: str) -> None:
    """Stop before Spark silently turns undecodable bytes into U+FFFD replacement characters."""
    with open(file, "rb") as handle:
        sample = handle.read(_ENCODING_PROBE_BYTES)
    try:
        text = codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
    except UnicodeDecodeError as exc:
        likely = "gb18030" if _decodes(sample, "gb18030") else None
        hint = (f"it looks like GB18030 (common for files saved by Chinese Excel or Windows); "
                f"set inputs.{name}.encoding: gb18030" if likely else
                f"re-save it as UTF-8 or set inputs.{name}.encoding to its encoding")
        raise InputError(f"inputs.{name} ({file}): byte {exc.start} is not valid {encoding}; "
                         f"{hint}") from None
    if encoding.lower() != "utf-8" and not text.isascii() and _decodes(sample, "utf-8"):
        raise InputError(f"inputs.{name} ({file}): the file is UTF-8, not {encoding}; "
                         f"set inputs.{name}.encoding: utf-8")


def _decodes(sample: bytes, encoding: str) -> bool:
    try:
        codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
    except UnicodeDecodeError:
        return False
    return True


def resolve_input_format(spec: InputSpec, name: str) -> str:
    if spec.format != "auto":
        return spec.format
    probe = spec.path.rstrip("/")
    suffix = Path(probe.replace("*", "x")).suffix.lower()
    if suffix in EXTENSIONS:
        return EXTENSIONS[suffix]
    if os.path.isdir(probe):
        found = {EXTENSIONS.get(Path(f).suffix.lower()) for f in os.listdir(probe)} - {None}
        if len(found) == 1:
            return str(found.pop())
    raise InputError(
        f"inputs.{name}: cannot tell the format of {spec.path!r} from its name; "
        f"set inputs.{name}.format to csv, parquet or xlsx"
    )


def _read_spark(spark: SparkSession, spec: InputSpec, fmt: str, name: str,
                files: list[str] | None) -> DataFrame:
    paths = files if files is not None else [spec.path]
    try:
        if fmt == "csv":
            reader = spark.read.options(
                header=True, inferSchema=False, encoding=spec.encoding,
                sep=spec.delimiter, mode="PERMISSIVE", multiLine=False,
            )
            df = reader.csv(paths)
        else:
            df = spark.read.parquet(*paths)
    except AnalysisException as exc:
        raise InputError(f"inputs.{name}: cannot read {spec.path!r} as {fmt}: {exc}") from None
    return df.withColumn(SOURCE_FILE, F.input_file_name())


# Rows are numbered within their file split: one split per task (below), so the position of
# a row in its task is its position in the split (monotonically_increasing_id's low bits).
_TASK_ROW = (1 << 33) - 1


def split_lineage(spark: SparkSession) -> dict[str, Column]:
    """`_source_split` (byte offset where the row's split starts) and `_split_record`.

    Exact only when no task reads two splits, i.e. spark.sql.files.openCostInBytes is at
    least spark.sql.files.maxPartitionBytes (io.session sets it so); checked here.
    """
    open_cost = _bytes(spark.conf.get("spark.sql.files.openCostInBytes") or "4m")
    max_split = _bytes(spark.conf.get("spark.sql.files.maxPartitionBytes") or "128m")
    if open_cost < max_split:
        raise InputError(
            f"spark.conf: spark.sql.files.openCostInBytes ({open_cost}) is below "
            f"spark.sql.files.maxPartitionBytes ({max_split}), so one task may read several "
            "settlement files and row positions would be wrong; set both to the same value")
    return {SOURCE_SPLIT: F.input_file_block_start(),
            SPLIT_RECORD: F.monotonically_increasing_id().bitwiseAND(F.lit(_TASK_ROW))}


def _bytes(text: str) -> int:
    units = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}
    text = text.strip().lower().removesuffix("b")
    return int(text[:-1]) * units[text[-1]] if text[-1:] in units else int(text)


def _read_xlsx(spark: SparkSession, spec: InputSpec, contract: InputContract,
               files: list[str] | None = None) -> DataFrame:
    """Catalogs and libraries are published as Excel; they are catalog-sized, so pandas reads them.

    With lineage, a sheet is one split and a row's record is its position below the header.
    """
    name = contract.name
    if files is not None:
        files = [f.removeprefix("file://") for f in files]
    elif os.path.isdir(spec.path):
        files = sorted(glob.glob(os.path.join(spec.path, "*.xlsx")))
    else:
        files = sorted(glob.glob(spec.path))
    if not files:
        raise InputError(f"inputs.{name}: no Excel file at {spec.path!r}")
    frames = []
    for file in files:
        sheet: str | int = spec.sheet if spec.sheet is not None else 0
        frame = pd.read_excel(file, sheet_name=sheet, dtype=str, engine="openpyxl")
        frame.columns = [str(c) for c in frame.columns]
        if contract.lineage:
            frame = frame.assign(**{SOURCE_FILE: Path(file).resolve().as_uri(), SOURCE_SPLIT: "0",
                                    SPLIT_RECORD: [str(i) for i in range(len(frame))]})
        else:
            frame = frame.assign(**{SOURCE_FILE: os.path.abspath(file)})
        frames.append(frame)
    pdf = pd.concat(frames, ignore_index=True)
    pdf = pdf.astype(object).where(pdf.notna(), None)
    schema = StructType([StructField(c, StringType()) for c in pdf.columns])
    return spark.createDataFrame(pdf, schema=schema)


def apply_renames(df: DataFrame, renames: dict[str, str]) -> DataFrame:
    """Rename source headers to contract names; header whitespace and a UTF-8 BOM are ignored."""
    clean = {c: c.strip().lstrip("\ufeff") for c in df.columns}
    cols = [F.col(f"`{c}`").alias(renames.get(clean[c], clean[c])) for c in df.columns]
    return df.select(*cols)


def check_required_columns(found: list[str], contract: InputContract, spec: InputSpec) -> None:
    missing = [c for c in contract.required if c not in found]
    if not missing:
        return
    shown = [c for c in found if c != SOURCE_FILE]
    example = ", ".join(f"'<your header>': {c}" for c in missing[:2])
    raise InputError(
        f"inputs.{contract.name} ({spec.path}): missing required column(s) "
        f"{', '.join(missing)}. Columns found: {', '.join(shown) or '(none)'}. "
        f"If your file names them differently, map them in conf under "
        f"inputs.{contract.name}.columns, e.g. {{{example}}}."
    )


def conform_to_contract(df: DataFrame, contract: InputContract) -> DataFrame:
    """Select the contract's columns in order, typed; required typed columns keep raw text."""
    present = dict(df.dtypes)
    cols: list[Column] = []
    for name, dtype in contract.columns.items():
        if name not in present:
            cols.append(F.lit(None).cast(dtype).alias(name))
            continue
        cols.append(cast_column(F.col(name), present[name], dtype).alias(name))
        if name in contract.required and not isinstance(dtype, StringType):
            # Text as read, for quarantined rows; a typed value stays typed until a row is
            # quarantined (cleaning.quarantined_rows), so clean rows never format it.
            raw = F.col(name) if present[name] != "string" else blank_to_null(F.col(name))
            cols.append(raw.alias(name + RAW_SUFFIX))
    if SOURCE_FILE in present:
        cols.append(F.col(SOURCE_FILE))
    if contract.lineage:
        cols += [(F.col(c) if c in present else F.lit(None)).cast("long").alias(c)
                 for c in (SOURCE_SPLIT, SPLIT_RECORD)]
    return df.select(*cols)


# Characters that make a text value blank: hospital systems export missing text as "" or
# padding (ASCII or full-width spaces), not only as null.
WHITESPACE = " \t\r\n\u3000\u00a0"


def blank_to_null(col: Column) -> Column:
    """Null for empty and whitespace-only text, the value unchanged otherwise."""
    return F.when(F.btrim(col, F.lit(WHITESPACE)) == "", None).otherwise(col)


_NUMERIC_SOURCES = ("tinyint", "smallint", "int", "bigint", "double")


def cast_column(col: Column, source_type: str, target: DataType) -> Column:
    """`col` as the contract's type; blank text is null whatever the source format."""
    if source_type == target.simpleString():
        return blank_to_null(col) if isinstance(target, StringType) else col
    # Typed sources (Parquet) skip the detour through text: the result is the same (a double
    # is read from its shortest decimal text either way), at a fraction of the cost.
    if isinstance(target, TimestampType) and source_type in ("timestamp_ntz", "date"):
        return col.cast(target)
    if isinstance(target, DecimalType | DoubleType) and (
            source_type in _NUMERIC_SOURCES or source_type.startswith("decimal")):
        return col.try_cast(target)
    text = blank_to_null(F.trim(col.cast("string")))
    if isinstance(target, StringType):
        return text
    if isinstance(target, TimestampType):
        parsed = [F.try_to_timestamp(text)]
        parsed += [F.try_to_timestamp(text, F.lit(fmt)) for fmt in _TIME_FORMATS]
        return F.coalesce(*parsed)
    return text.try_cast(target)


def read_reference_frame(path: str, key: str) -> pd.DataFrame:
    """A small reference list (TSV, CSV or Excel) read as text on the driver."""
    if not os.path.isfile(path):
        raise InputError(f"{key}: file not found: {path}")
    if path.lower().endswith((".xlsx", ".xlsm")):
        return pd.read_excel(path, dtype=str, engine="openpyxl")
    sep = "\t" if path.lower().endswith((".tsv", ".txt")) else ","
    return pd.read_csv(path, sep=sep, dtype=str, encoding="utf-8-sig")
