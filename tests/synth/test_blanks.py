"""Dirty rows with missing text carry it as null, '' or whitespace only, and the manifest counts each."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.parquet as pq
import pytest

from synth.dirty import MISSING_FORMS, TEXT_KINDS
from synth.generate import Config, generate

CODE, NAME = "medins_list_codg", "medins_list_name"
REGIONS = ("insuplc_admdvs", "mdtrtarea_admvs")
# Enough rows of each text kind that every form appears.
DIRTY = {"missing_item_code": 0.02, "missing_item_name": 0.02, "malformed_region": 0.04}


def _form(s: pd.Series) -> pd.Series:
    """The MISSING_FORMS name of each value; None for text that is not missing."""
    out = pd.Series(None, index=s.index, dtype=object)
    text = s.fillna("x")
    out[s.isna()] = "null"
    out[text == ""] = "empty"
    out[text == "  "] = "spaces"
    out[text == "\u3000"] = "ideographic_space"
    return out


def _counts(forms: pd.Series) -> dict[str, int]:
    return {f: int((forms == f).sum()) for f in MISSING_FORMS}


@pytest.fixture(scope="module")
def parquet_case(tmp_path_factory: pytest.TempPathFactory) -> tuple[pd.DataFrame, dict[str, Any]]:
    out = tmp_path_factory.mktemp("blanks")
    man = generate(Config(out=out, rows=20_000, items=1_500, part_rows=6_000, dirty=DIRTY), log=False)
    files = sorted((out / "settlements").glob("part-*.parquet"))
    return pd.concat([pq.read_table(f).to_pandas() for f in files], ignore_index=True), man


def test_manifest_counts_blank_rows_per_kind(parquet_case: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    _, man = parquet_case
    assert set(man["dirty_blank_rows"]) == set(man["dirty_missing_forms"]) == set(TEXT_KINDS)
    for kind in TEXT_KINDS:
        forms = man["dirty_missing_forms"][kind]
        assert list(forms) == list(MISSING_FORMS)
        assert man["dirty_blank_rows"][kind] == forms["empty"] + forms["spaces"] + forms["ideographic_space"]
    for kind in ("missing_item_code", "missing_item_name"):
        # every row of these kinds misses its text, in one of the forms
        assert sum(man["dirty_missing_forms"][kind].values()) == man["dirty_rows"][kind]
    # malformed_region: only some rows miss the code, the others carry a malformed one
    assert 0 < sum(man["dirty_missing_forms"]["malformed_region"].values()) < man["dirty_rows"][
        "malformed_region"]


def test_every_form_appears_in_parquet(parquet_case: tuple[pd.DataFrame, dict[str, Any]]) -> None:
    df, man = parquet_case
    assert df[CODE].dtype == object and df[CODE].map(type).isin([str, type(None)]).all()
    got = {
        "missing_item_code": _counts(_form(df[CODE])),
        "missing_item_name": _counts(_form(df[NAME])),
        # exactly one region column of a row is affected
        "malformed_region": _counts(_form(df[REGIONS[0]]).fillna(_form(df[REGIONS[1]]))),
    }
    assert got == man["dirty_missing_forms"]
    for kind in TEXT_KINDS:
        assert all(n > 0 for n in got[kind].values()), (kind, got[kind])
    # a name is never blank where the code is, and the reported national code stays null
    assert not (_form(df[CODE]).notna() & _form(df[NAME]).notna()).any()
    assert df.loc[_form(df[CODE]).notna(), "med_list_codg"].isna().all()


def test_forms_are_deterministic_for_a_seed(tmp_path: Path) -> None:
    kw: dict[str, Any] = {"rows": 4_000, "items": 600, "part_rows": 1_000, "dirty": DIRTY}
    runs = [generate(Config(out=tmp_path / name, seed=seed, **kw), log=False)
            for name, seed in (("a", 1), ("b", 1), ("c", 2))]
    frames = [pq.read_table(tmp_path / n / "settlements").to_pandas() for n in "abc"]
    assert runs[0]["dirty_missing_forms"] == runs[1]["dirty_missing_forms"]
    assert frames[0][CODE].fillna("<null>").equals(frames[1][CODE].fillna("<null>"))
    assert runs[0]["dirty_missing_forms"] != runs[2]["dirty_missing_forms"]


def test_csv_keeps_whitespace_blanks(tmp_path: Path) -> None:
    """In CSV '' reads back as null like a null does; whitespace-only values survive."""
    man = generate(Config(out=tmp_path, rows=6_000, items=600, part_rows=2_000, dirty=DIRTY,
                          settlement_format="csv", encoding="gb18030"), log=False)
    files = sorted((tmp_path / "settlements").glob("part-*.csv"))
    df = pd.concat([pd.read_csv(f, dtype=str, encoding="gb18030") for f in files], ignore_index=True)
    assert len(df) == 6_000
    for kind, column in (("missing_item_code", CODE), ("missing_item_name", NAME)):
        forms = man["dirty_missing_forms"][kind]
        got = _counts(_form(df[column]))
        assert got["spaces"] == forms["spaces"] > 0 and got["empty"] == 0
        assert got["ideographic_space"] == forms["ideographic_space"] > 0
        assert got["null"] == forms["null"] + forms["empty"]
    raw = files[0].read_bytes().decode("gb18030")
    assert ',"\u3000",' in raw and ',"  ",' in raw and ',"",' in raw
