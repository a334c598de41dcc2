"""The real NHSA sample (../shared) read through the input contract and matched from local variants."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from pyspark.sql import SparkSession

from catalogbridge.io.contracts import NATIONAL_ITEMS
from catalogbridge.io.readers import InputSpec, read_input
from catalogbridge.matching.catalog import national_library_table
from synth.evaluation import evaluate, local_variants, scored_items
from udfs.matching import MatchParams, NationalLibrary, map_items
from udfs.normalize import load_normalizer

SYNONYMS = Path(__file__).resolve().parents[1] / "conf" / "synonyms.yaml"


def _sample(nhsa_dir: Path) -> pd.DataFrame:
    return pd.read_csv(nhsa_dir / "national_items_sample.tsv", sep="\t", dtype=str).fillna("")


def _library(sample: pd.DataFrame) -> NationalLibrary:
    return NationalLibrary(sample["nhsa_code"].tolist(), sample["name"].tolist(),
                           load_normalizer(SYNONYMS))


def test_real_library_reads_through_the_contract(spark: SparkSession, nhsa_dir: Path) -> None:
    spec = InputSpec(path=str(nhsa_dir / "national_items_sample.tsv"), format="csv",
                     delimiter="\t", columns={"nhsa_code": "item_code", "name": "item_name"})
    national = read_input(spark, spec, NATIONAL_ITEMS).transform(national_library_table)
    rows = national.select("national_code", "national_name").toPandas()
    sample = _sample(nhsa_dir)
    assert len(rows) == len(sample) == 3039
    assert rows["national_code"].str.len().eq(15).all(), "leading zeros are kept"
    assert set(rows["national_code"]) == set(sample["nhsa_code"])


def test_local_spellings_of_real_names_map_back(nhsa_dir: Path) -> None:
    sample = _sample(nhsa_dir)
    library = _library(sample)
    picked = sample[sample["name"].str.contains(r"\(", regex=True)].head(200)
    # Local catalogs write full-width brackets, add spaces and a trailing 费.
    variants = (picked["name"].str.replace("(", "（", regex=False)
                .str.replace(")", "）", regex=False) + "费")
    result = map_items([None] * len(picked), variants.tolist(), [None] * len(picked), library,
                       MatchParams())
    mapped = result["national_code"].notna()
    correct = (result["national_code"] == picked["nhsa_code"].reset_index(drop=True)) | ~mapped
    assert correct.all(), "an accepted match must be the item the variant came from"
    assert mapped.mean() >= 0.95


def test_generated_local_variants_of_all_real_names(nhsa_dir: Path) -> None:
    """Every real name respelled as a province would (1-3 changes each, fixed seed)."""
    sample = _sample(nhsa_dir)
    names = local_variants(sample["name"].tolist(), seed=1)
    assert names == local_variants(sample["name"].tolist(), seed=1)
    assert sum(a != b for a, b in zip(names, sample["name"], strict=True)) >= 2000  # 2,040 respelled
    result = map_items([None] * len(names), names, [None] * len(names), _library(sample),
                       MatchParams())
    result["catalog_region"], result["local_code"] = "real", [str(i) for i in range(len(names))]
    truth = pd.DataFrame({"catalog_region": "real", "local_code": result["local_code"],
                          "true_code": sample["nhsa_code"]})
    overall = evaluate(scored_items(result, truth)).iloc[-1]
    assert overall["precision"] >= 0.995
    assert overall["top5"] >= 0.99
    assert overall["review_rate"] <= 0.05
