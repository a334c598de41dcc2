"""All reading and writing: inputs under the contract, output tables, exports.

Inputs are read as text, renamed with the user's `columns:` map, checked for required
columns before any heavy work, and cast with `try_` functions so a malformed value becomes
a null that cleaning quarantines instead of an exception that kills the run.
"""

from __future__ import annotations

import codecs
import glob
import logging
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

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

from catalogbridge.config import InputSpec, OutputConfig, QualityConfig
from catalogbridge.contracts import InputContract
from catalogbridge.rules import SupervisionListError, supervision_limits
from catalogbridge.session import delta_available

log = logging.getLogger(__name__)

SOURCE_FILE = "_source_file"
RAW_SUFFIX = "__raw"
_EXTENSIONS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".parquet": "parquet",
               ".xlsx": "xlsx", ".xlsm": "xlsx"}
_TIME_FORMATS = ("yyyyMMddHHmmss", "yyyy/M/d H:mm:ss", "yyyy/M/d", "yyyyMMdd")


class InputError(ValueError):
    """An input that cannot be used as given; the message says which file and what to fix."""


def read_input(spark: SparkSession, spec: InputSpec, contract: InputContract) -> DataFrame:
    """Read one input, apply the rename map, check required columns and cast to the contract."""
    fmt = resolve_input_format(spec, contract.name)
    if fmt == "xlsx":
        raw = _read_xlsx(spark, spec, contract.name)
    else:
        if fmt == "csv":
            for file in _local_files(spec.path, "csv")[:_ENCODING_PROBE_FILES]:
                check_encoding(file, spec.encoding, contract.name)
        raw = _read_spark(spark, spec, fmt, contract.name)
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
                      if _EXTENSIONS.get(Path(f).suffix.lower()) == fmt)
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
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    if os.path.isdir(probe):
        found = {_EXTENSIONS.get(Path(f).suffix.lower()) for f in os.listdir(probe)} - {None}
        if len(found) == 1:
            return str(found.pop())
    raise InputError(
        f"inputs.{name}: cannot tell the format of {spec.path!r} from its name; "
        f"set inputs.{name}.format to csv, parquet or xlsx"
    )


def _read_spark(spark: SparkSession, spec: InputSpec, fmt: str, name: str) -> DataFrame:
    try:
        if fmt == "csv":
            reader = spark.read.options(
                header=True, inferSchema=False, encoding=spec.encoding,
                sep=spec.delimiter, mode="PERMISSIVE", multiLine=False,
            )
            df = reader.csv(spec.path)
        else:
            df = spark.read.parquet(spec.path)
    except AnalysisException as exc:
        raise InputError(f"inputs.{name}: cannot read {spec.path!r} as {fmt}: {exc}") from None
    return df.withColumn(SOURCE_FILE, F.input_file_name())


def _read_xlsx(spark: SparkSession, spec: InputSpec, name: str) -> DataFrame:
    """Catalogs and libraries are published as Excel; they are catalog-sized, so pandas reads them."""
    files = sorted(glob.glob(os.path.join(spec.path, "*.xlsx"))) if os.path.isdir(spec.path) \
        else sorted(glob.glob(spec.path))
    if not files:
        raise InputError(f"inputs.{name}: no Excel file at {spec.path!r}")
    frames = []
    for file in files:
        sheet: str | int = spec.sheet if spec.sheet is not None else 0
        frame = pd.read_excel(file, sheet_name=sheet, dtype=str, engine="openpyxl")
        frame.columns = [str(c) for c in frame.columns]
        frames.append(frame.assign(**{SOURCE_FILE: os.path.abspath(file)}))
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
    return df.select(*cols)


def blank_to_null(col: Column) -> Column:
    trimmed = F.trim(col)
    return F.when(trimmed == "", None).otherwise(trimmed)


_NUMERIC_SOURCES = ("tinyint", "smallint", "int", "bigint", "double")


def cast_column(col: Column, source_type: str, target: DataType) -> Column:
    if source_type == target.simpleString():
        return col
    # Typed sources (Parquet) skip the detour through text: the result is the same (a double
    # is read from its shortest decimal text either way), at a fraction of the cost.
    if isinstance(target, TimestampType) and source_type in ("timestamp_ntz", "date"):
        return col.cast(target)
    if isinstance(target, DecimalType | DoubleType) and (
            source_type in _NUMERIC_SOURCES or source_type.startswith("decimal")):
        return col.try_cast(target)
    text = blank_to_null(col.cast("string"))
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


def load_supervision_limits(spark: SparkSession, quality: QualityConfig) -> DataFrame | None:
    """The gender- and age-limited item lists named in conf, as one small table (or None)."""
    key_gender, key_age = "quality.gender_limited_items", "quality.age_limited_items"
    gender = read_reference_frame(quality.gender_limited_items, key_gender) \
        if quality.gender_limited_items else None
    age = read_reference_frame(quality.age_limited_items, key_age) \
        if quality.age_limited_items else None
    if gender is None and age is None:
        return None
    try:
        limits = supervision_limits(gender, age, quality.age_limits)
    except SupervisionListError as exc:
        raise InputError(str(exc)) from None
    ages = [None if pd.isna(a) else int(a) for a in limits["limit_age_max"].tolist()]
    rows = list(zip(limits["national_code"], limits["limit_gender"], ages, strict=True))
    return spark.createDataFrame(
        rows, "national_code string, limit_gender string, limit_age_max int")


def resolve_table_format(requested: str, has_delta: bool) -> str:
    """`auto` means Delta when its classes load, else Parquet; `delta` without them is an error."""
    if requested == "parquet":
        return "parquet"
    if has_delta:
        return "delta"
    if requested == "delta":
        raise InputError(
            "output.format is 'delta' but the Delta Lake classes are not on the class path; "
            "add the delta-spark jars (spark.jars or --packages io.delta:delta-spark_2.13:4.0.0) "
            "or set output.format: auto"
        )
    return "parquet"


# Settlement identifiers are (nearly) unique per row: Parquet would build a dictionary for
# them, overflow it and fall back to plain encoding in every row group, which costs ~10 % of
# a settlement table's write time for no saving in size.
_UNIQUE_COLUMNS = ("feedetl_sn", "setl_id", "mdtrt_id", "psn_no")


def _dictionary_off(columns: Sequence[str]) -> dict[str, str]:
    return {f"parquet.enable.dictionary#{c}": "false" for c in _UNIQUE_COLUMNS if c in columns}


class TableStore:
    """Reads and writes the pipeline's tables under `output.path`, all or nothing.

    Tables written during a run go to `_staging/<run_id>/`; later stages of the same run
    read them there. `commit()` swaps them into place only after every stage succeeded
    (Delta: one overwrite transaction per table; Parquet: a directory rename), and
    `discard()` drops them, so a failed run leaves the previous run's tables unchanged.
    """

    def __init__(self, spark: SparkSession, out: OutputConfig, run_id: str = "adhoc") -> None:
        self.spark = spark
        self.out = out
        self.run_id = run_id
        self.format = resolve_table_format(out.format, delta_available(spark))
        self._pending: dict[str, str] = {}
        if out.format == "auto":
            log.warning("table format: %s (output.format=auto%s)", self.format,
                        "" if self.format == "delta" else "; Delta Lake classes not found")

    def path(self, name: str) -> str:
        return f"{self.out.path.rstrip('/')}/{name}"

    @property
    def _run_dir(self) -> str:
        return self.path(f"_staging/{self.run_id}")

    def write(self, df: DataFrame, name: str) -> None:
        staged = f"{self._run_dir}/{name}"
        df.write.format(self.format).mode("overwrite").options(
            overwriteSchema="true", **_dictionary_off(df.columns)).save(staged)
        self._pending[name] = staged

    def write_scratch(self, df: DataFrame, name: str) -> DataFrame:
        """Materialise an intermediate once (Parquet) so several outputs can be cut from it."""
        path = f"{self._run_dir}/_scratch/{name}"
        df.write.mode("overwrite").parquet(path)
        return self.spark.read.parquet(path)

    def read(self, name: str) -> DataFrame:
        path = self._pending.get(name, self.path(name))
        try:
            return self.spark.read.format(self.format).load(path)
        except AnalysisException:
            raise InputError(
                f"table '{name}' not found at {path}: run the stage that writes it "
                "first (python -m jobs.run_pipeline runs them all)"
            ) from None

    def commit(self) -> None:
        """Put every table of this run in place, then drop the staging area."""
        for name, staged in self._pending.items():
            final = self.path(name)
            if self.format == "delta":
                self.spark.read.format("delta").load(staged).write.format("delta").mode(
                    "overwrite").option("overwriteSchema", "true").save(final)
            else:
                previous = f"{self._run_dir}/_previous/{name}"
                if self._fs.exists(self._jpath(final)):
                    self._fs.mkdirs(self._jpath(previous).getParent())
                    self._fs.rename(self._jpath(final), self._jpath(previous))
                self._fs.rename(self._jpath(staged), self._jpath(final))
        self._pending.clear()
        self._drop_run_dir()

    def discard(self) -> None:
        self._pending.clear()
        self._drop_run_dir()

    def _drop_run_dir(self) -> None:
        self._fs.delete(self._jpath(self._run_dir), True)
        staging = self._jpath(self.path("_staging"))
        if self._fs.exists(staging) and not self._fs.listStatus(staging):
            self._fs.delete(staging, False)

    def _jpath(self, path: str) -> Any:
        jvm = self.spark.sparkContext._jvm
        assert jvm is not None
        return jvm.org.apache.hadoop.fs.Path(path)

    @property
    def _fs(self) -> Any:
        conf = self.spark.sparkContext._jsc.hadoopConfiguration()
        return self._jpath(self.out.path).getFileSystem(conf)

    @property
    def exports_dir(self) -> Path:
        path = Path(self.out.exports_dir)
        return path if path.is_absolute() else Path(self.out.path) / path

    def export_csv(self, df: DataFrame, name: str) -> Path:
        """Pair- or catalog-sized tables only; UTF-8 with BOM so Excel shows Chinese."""
        target = self.exports_dir / f"{name}.csv"
        target.parent.mkdir(parents=True, exist_ok=True)
        df.toPandas().to_csv(target, index=False, encoding="utf-8-sig")
        return target
