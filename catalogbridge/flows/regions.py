"""Region reference data: codes, names, centroids and populations, and distances between regions.

Flows between regions, distance decay and per-population rates need to know where a region is
and how many people live there. The packaged ``reference/regions.csv`` has the 31 provinces and
their 337 prefecture-level cities (one city row per municipality): GB/T 2260 code, official
name, the area-weighted centroid of the boundary (not the seat of government) and the resident
population of the 7th national census (2020). County-level units administered directly by a
province (河南 419001, 湖北 4290xx, 海南 4690xx, 新疆 6590xx) have no city row, so those four
provinces' cities sum short of the province. scripts/region_reference/ rebuilds the file and
names its sources and licences (figures and boundaries from github.com/leiii/census, MIT,
Copyright (c) 2022 Lei Dong). Point ``inputs.regions`` at your own file with the same columns
to replace it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import TypeVar, cast

import numpy as np
import pandas as pd

DEFAULT_REGIONS: Path = Path(__file__).resolve().parent / "reference" / "regions.csv"
REQUIRED = ("level", "code", "name", "province_code", "lat", "lon", "population")
LEVELS = ("province", "city")
LAT_RANGE = (3.0, 54.0)  # 曾母暗沙 to 漠河, with a margin
LON_RANGE = (73.0, 136.0)  # 帕米尔 to 黑瞎子岛
EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
_SIX_DIGITS = re.compile(r"\d{6}")
_FIX = "point `inputs.regions` at a corrected file"

T = TypeVar("T", float, np.ndarray, pd.Series)


class RegionsError(ValueError):
    """A region file that cannot be used; the message names the file, the row and the fix.

    Not ``io.readers.InputError``: that module needs Spark, and this table is read without it.
    """


def load_regions(path: Path | None = None) -> pd.DataFrame:
    """Read and check a region table (the packaged one by default).

    Codes are text (leading digits matter); lat/lon come back as floats and population as
    int64. Every problem is reported with the file, the line and the code, because a wrong
    region silently skews every rate computed from it.
    """
    src = Path(path) if path is not None else DEFAULT_REGIONS
    try:
        raw = pd.read_csv(src, dtype=str, keep_default_na=False, encoding="utf-8")
    except FileNotFoundError:
        raise RegionsError(f"{src}: no such file; {_FIX}") from None
    except UnicodeDecodeError as exc:
        raise RegionsError(f"{src}: not UTF-8 ({exc.reason}); save it as UTF-8") from None
    missing = [c for c in REQUIRED if c not in raw.columns]
    if missing:
        raise RegionsError(
            f"{src}: missing column(s) {', '.join(missing)}; add the column or point "
            f"`inputs.regions` at a file that has it (columns found: {', '.join(raw.columns)})")
    df = raw.apply(lambda col: col.str.strip())
    df.index = pd.RangeIndex(2, len(df) + 2)  # file line numbers: the header is line 1
    _check_codes(df, src)
    df["lat"] = _numbers(df, "lat", LAT_RANGE, src)
    df["lon"] = _numbers(df, "lon", LON_RANGE, src)
    bad = ~df["population"].str.fullmatch(r"\d+") | (df["population"].str.lstrip("0") == "")
    _fail(df, bad, src, "must be a positive whole number of persons", "population")
    df["population"] = df["population"].astype("int64")
    if "population_year" in df.columns:
        _fail(df, ~df["population_year"].str.fullmatch(r"\d{4}"), src,
              "must be a 4-digit year", "population_year")
        df["population_year"] = df["population_year"].astype("int64")
    return df.reset_index(drop=True)


def _fail(df: pd.DataFrame, bad: pd.Series, src: Path, what: str, show: str = "") -> None:
    """Raise for the first bad row, naming the file, its line, code (and `show`), and how many more."""
    if not bad.any():
        return
    lines = df.index[bad.to_numpy()]
    line = lines[0]
    more = f" (and {len(lines) - 1} more row(s))" if len(lines) > 1 else ""
    value = f", {show} {df.at[line, show]!r}" if show else ""
    raise RegionsError(f"{src}: line {line}, code {df.at[line, 'code']!r}{value}: {what}{more}; {_FIX}")


def _check_codes(df: pd.DataFrame, src: Path) -> None:
    """Levels known, codes GB/T 2260-shaped and unique, every city under a province row."""
    _fail(df, ~df["level"].isin(LEVELS), src, f"level must be one of {', '.join(LEVELS)}")
    _fail(df, ~df["code"].str.fullmatch(_SIX_DIGITS), src, "code must be 6 digits")
    _fail(df, ~df["province_code"].str.fullmatch(_SIX_DIGITS), src, "must be 6 digits", "province_code")
    dup = df["code"].duplicated(keep="first")
    if dup.any():
        code = df.loc[dup, "code"].iloc[0]
        lines = ", ".join(str(n) for n in df.index[df["code"] == code])
        raise RegionsError(f"{src}: code {code!r} appears on lines {lines}; codes must be unique, "
                           f"keep one row per region and {_FIX}")
    province = df["level"] == "province"
    _fail(df, province & ~df["code"].str.endswith("0000"), src,
          "a province code ends in 0000")
    _fail(df, province & (df["province_code"] != df["code"]), src,
          "a province row's province_code is its own code", "province_code")
    known = set(df.loc[province, "code"])
    _fail(df, ~province & ~df["province_code"].isin(known), src,
          "no province row has this code; add the province's row", "province_code")
    _fail(df, ~province & (df["code"].str[:2] != df["province_code"].str[:2]), src,
          "a city code starts with the two digits of its province_code", "province_code")


def _numbers(df: pd.DataFrame, column: str, bounds: tuple[float, float], src: Path) -> pd.Series:
    """The column as floats, every value within bounds (degrees inside China)."""
    values = pd.to_numeric(df[column], errors="coerce")
    lo, hi = bounds
    _fail(df, values.isna() | (values < lo) | (values > hi), src,
          f"must be a number of decimal degrees within {lo:g}..{hi:g}", column)
    return values.astype("float64")


def haversine_km(lat1: T, lon1: T, lat2: T, lon2: T) -> T:
    """Great-circle distance in km between points given in decimal degrees.

    Works element-wise on floats, numpy arrays and pandas Series (Series align on their index,
    so pass arrays when the two sides are indexed differently). A sphere of the Earth's mean
    radius is within 0.5 % of the ellipsoid, far below the spread of a region around its centroid.
    """
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dlat = p2 - p1
    dlon = np.radians(lon2) - np.radians(lon1)
    a = np.sin(dlat / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dlon / 2) ** 2
    return cast(T, 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0))))


def distance_table(regions: pd.DataFrame, level: str = "province") -> pd.DataFrame:
    """origin_code, destination_code, distance_km for every ordered pair of distinct regions.

    Both directions are listed (flows are directed, distance is symmetric), so a level of n
    regions gives n * (n - 1) rows, ordered by origin then destination code.
    """
    if level not in LEVELS:
        raise ValueError(f"level must be one of {', '.join(LEVELS)}, not {level!r}")
    chosen = regions[regions["level"] == level].sort_values("code")
    codes = chosen["code"].to_numpy()
    lat = chosen["lat"].to_numpy(dtype="float64")
    lon = chosen["lon"].to_numpy(dtype="float64")
    i, j = np.meshgrid(np.arange(len(chosen)), np.arange(len(chosen)), indexing="ij")
    pair = i != j
    i, j = i[pair], j[pair]
    return pd.DataFrame({
        "origin_code": codes[i],
        "destination_code": codes[j],
        "distance_km": haversine_km(lat[i], lon[i], lat[j], lon[j]),
    })
