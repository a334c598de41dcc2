"""The packaged region reference data and its loader (no Spark)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from catalogbridge.flows.regions import (
    DEFAULT_REGIONS,
    RegionsError,
    distance_table,
    haversine_km,
    load_regions,
)

CENSUS_2020_NATIONAL = 1_411_778_724  # 7th census, mainland China, incl. 2,000,000 servicemen
MUNICIPALITIES = {"110000": "110100", "120000": "120100", "310000": "310100", "500000": "500100"}
# Provinces whose directly administered county-level units have no city row (see sources.yaml).
SHORT_PROVINCES = {"410000", "420000", "460000", "650000"}


@pytest.fixture(scope="module")
def regions() -> pd.DataFrame:
    return load_regions()


def test_the_packaged_file_is_the_default_and_loads(regions: pd.DataFrame) -> None:
    assert DEFAULT_REGIONS.is_file()
    assert regions["code"].map(lambda code: isinstance(code, str)).all()
    assert regions["population"].dtype == "int64"
    assert set(regions["population_year"]) == {2020}


def test_31_provinces_and_all_prefecture_level_cities(regions: pd.DataFrame) -> None:
    provinces = regions[regions["level"] == "province"]
    cities = regions[regions["level"] == "city"]
    assert len(provinces) == 31
    assert provinces["code"].str.endswith("0000").all()
    assert len(cities) == 333 + 4  # prefecture-level divisions + one row per municipality
    assert cities["code"].str.endswith("00").all()
    assert not regions["code"].str[:2].isin(["71", "81", "82"]).any()  # no TW/HK/MO


def test_codes_are_unique_and_every_city_is_under_a_province(regions: pd.DataFrame) -> None:
    assert regions["code"].is_unique
    provinces = set(regions.loc[regions["level"] == "province", "code"])
    cities = regions[regions["level"] == "city"]
    assert set(cities["province_code"]) <= provinces
    assert (cities["code"].str[:2] == cities["province_code"].str[:2]).all()


def test_municipalities_have_their_city_row(regions: pd.DataFrame) -> None:
    by_code = regions.set_index("code")
    population = by_code["population"].to_dict()
    for province, city in MUNICIPALITIES.items():
        assert by_code.at[city, "level"] == "city"
        assert by_code.at[city, "province_code"] == province
        assert population[city] == population[province]
    assert "500200" not in by_code.index  # 重庆's 县 are inside the 500100 row


def test_province_populations_add_up_to_the_census(regions: pd.DataFrame) -> None:
    total = regions.loc[regions["level"] == "province", "population"].sum()
    assert abs(total - CENSUS_2020_NATIONAL) / CENSUS_2020_NATIONAL < 0.01


def test_city_populations_add_up_to_their_province(regions: pd.DataFrame) -> None:
    provinces = regions[regions["level"] == "province"].set_index("code")["population"]
    sums = regions[regions["level"] == "city"].groupby("province_code")["population"].sum()
    ratio = sums.reindex(provinces.index) / provinces
    complete = ratio.drop(sorted(SHORT_PROVINCES))
    assert ((complete - 1).abs() < 0.02).all(), complete[(complete - 1).abs() >= 0.02]
    short = ratio.loc[sorted(SHORT_PROVINCES)]
    assert ((short > 0.4) & (short <= 1)).all(), short


def test_haversine_beijing_shanghai() -> None:
    beijing, shanghai = (39.9042, 116.4074), (31.2304, 121.4737)
    assert haversine_km(*beijing, *shanghai) == pytest.approx(1068, abs=15)
    assert haversine_km(*beijing, *beijing) == 0


def test_haversine_is_vectorised() -> None:
    lat1, lon1 = np.array([39.9042, 0.0]), np.array([116.4074, 0.0])
    lat2, lon2 = np.array([31.2304, 0.0]), np.array([121.4737, 1.0])
    got = haversine_km(lat1, lon1, lat2, lon2)
    assert got.shape == (2,)
    assert got[1] == pytest.approx(111.2, abs=0.1)  # one degree of longitude on the equator
    series = haversine_km(pd.Series(lat1), pd.Series(lon1), pd.Series(lat2), pd.Series(lon2))
    assert isinstance(series, pd.Series)
    np.testing.assert_allclose(series.to_numpy(), got)


def test_distance_table_provinces(regions: pd.DataFrame) -> None:
    table = distance_table(regions)
    assert list(table.columns) == ["origin_code", "destination_code", "distance_km"]
    assert len(table) == 31 * 30
    assert not (table["origin_code"] == table["destination_code"]).any()
    assert not table.duplicated(["origin_code", "destination_code"]).any()
    back = table.set_index(["destination_code", "origin_code"])["distance_km"]
    there = table.set_index(["origin_code", "destination_code"])["distance_km"]
    np.testing.assert_allclose(there.sort_index().to_numpy(), back.sort_index().to_numpy())
    assert (table["distance_km"] > 0).all()
    bj_tj = there.loc[("110000", "120000")]
    assert 50 < bj_tj < 200  # neighbouring municipalities, centroid to centroid


def test_distance_table_cities(regions: pd.DataFrame) -> None:
    assert len(distance_table(regions, "city")) == 337 * 336
    with pytest.raises(ValueError, match="level"):
        distance_table(regions, "county")


GOOD = (
    "level,code,name,province_code,lat,lon,population,population_year,source\n"
    "province,330000,浙江省,330000,29.18,120.14,64567588,2020,test\n"
    "city,330100,杭州市,330000,29.90,119.47,11936010,2020,test\n"
)


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "regions.csv"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_small_good_file_loads(tmp_path: Path) -> None:
    got = load_regions(_write(tmp_path, GOOD))
    assert list(got["code"]) == ["330000", "330100"]
    assert got["lat"].dtype == "float64"


def test_missing_column_names_file_column_and_fix(tmp_path: Path) -> None:
    text = "\n".join(",".join(f for i, f in enumerate(line.split(",")) if i != 4)
                     for line in GOOD.splitlines())
    path = _write(tmp_path, text + "\n")
    with pytest.raises(RegionsError) as err:
        load_regions(path)
    msg = str(err.value)
    assert str(path) in msg and "lat" in msg and "`inputs.regions`" in msg
    assert "add the column" in msg


def test_duplicate_code_names_file_code_and_lines(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + "city,330100,杭州,330000,29.9,119.5,1,2020,test\n")
    with pytest.raises(RegionsError) as err:
        load_regions(path)
    msg = str(err.value)
    assert str(path) in msg and "'330100'" in msg and "lines 3, 4" in msg


def test_city_without_its_province_names_file_and_codes(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD + "city,320100,南京市,320000,32.0,118.8,9314685,2020,test\n")
    with pytest.raises(RegionsError) as err:
        load_regions(path)
    msg = str(err.value)
    assert str(path) in msg and "'320100'" in msg and "'320000'" in msg and "line 4" in msg


def test_bad_latitude_names_file_code_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, GOOD.replace("29.90", "129.90"))
    with pytest.raises(RegionsError) as err:
        load_regions(path)
    msg = str(err.value)
    assert str(path) in msg and "'330100'" in msg and "lat" in msg and "line 3" in msg


@pytest.mark.parametrize(("old", "new", "key"), [
    ("city,330100", "city,3301", "'3301'"),  # not 6 digits
    ("11936010", "-5", "population"),
    ("11936010", "0", "population"),
    ("119.47", "east", "lon"),
    ("city,330100", "town,330100", "level"),
])
def test_other_bad_values(tmp_path: Path, old: str, new: str, key: str) -> None:
    path = _write(tmp_path, GOOD.replace(old, new))
    with pytest.raises(RegionsError, match=key):
        load_regions(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(RegionsError, match="no such file"):
        load_regions(tmp_path / "nope.csv")
