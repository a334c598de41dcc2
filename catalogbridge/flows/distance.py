"""Distance and access: flows per 100,000 population, their correlation with distance, and a
fitted distance-decay (gravity) model.

Runs on the driver in pandas: one row per ordered pair of regions in the data (31 x 30 at
province level, at most ~10^5 at city level), never per visit. The gravity model is
statsmodels' Poisson GLM  visits_ij ~ exp(b0 + b1 log P_i + b2 log P_j + b3 log d_ij),
fitted over every ordered pair of distinct regions, pairs without visits included (a log-
linear fit on positive flows only would drop exactly the pairs distance deters).
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats

from catalogbridge.flows.regions import distance_table
from catalogbridge.names import INSURED, TREATMENT

log = logging.getLogger(__name__)

PER = 100_000
MIN_PAIRS = 5  # fewer pairs (or no pair with visits) cannot support three slopes and a constant
GRAVITY_TERMS = ("const", "log_origin_population", "log_destination_population", "log_distance_km")
SUMMARY_COLUMNS = (
    "model", "pairs", "pairs_with_visits", "pearson_rate_distance", "pearson_p_value",
    "spearman_rate_distance", "spearman_p_value",
    *[f"{t}_{part}" for t in GRAVITY_TERMS for part in ("coef", "ci_low", "ci_high")],
    "deviance", "null_deviance", "deviance_explained", "pearson_chi2_per_df", "aic")
# Spark schemas of the two tables (an empty pair table still has its columns).
PAIR_SCHEMA = (f"{INSURED} string, {TREATMENT} string, distance_km double, visits long, "
               "persons long, origin_population long, destination_population long, "
               "visits_per_100k double, persons_per_100k double, fitted_visits double")
SUMMARY_SCHEMA = ", ".join(
    f"{c} {'string' if c == 'model' else 'long' if c.startswith('pairs') else 'double'}"
    for c in SUMMARY_COLUMNS)


def pair_access(destinations: pd.DataFrame, regions: pd.DataFrame, codes: list[str],
                level: str) -> pd.DataFrame:
    """Every ordered pair of distinct `codes` found in the reference: distance, populations,
    visits and persons (0 without flows) and both per 100,000 of the origin's population."""
    reference = regions[regions["level"] == level].set_index("code")
    known = sorted(c for c in codes if c in reference.index)
    distances = distance_table(regions[regions["code"].isin(known)], level).rename(
        columns={"origin_code": INSURED, "destination_code": TREATMENT})
    flows = destinations[[INSURED, TREATMENT, "visits", "persons"]].astype(
        {"visits": "int64", "persons": "int64"})
    pairs = distances.merge(flows, on=[INSURED, TREATMENT], how="left")
    pairs[["visits", "persons"]] = pairs[["visits", "persons"]].fillna(0).astype("int64")
    pairs["origin_population"] = reference.loc[pairs[INSURED], "population"].to_numpy()
    pairs["destination_population"] = reference.loc[pairs[TREATMENT], "population"].to_numpy()
    pairs["visits_per_100k"] = (pairs["visits"] * PER / pairs["origin_population"]).round(4)
    pairs["persons_per_100k"] = (pairs["persons"] * PER / pairs["origin_population"]).round(4)
    pairs["distance_km"] = pairs["distance_km"].round(1)
    pairs["fitted_visits"] = np.nan
    return pairs[[c.split()[0] for c in PAIR_SCHEMA.split(", ")]]


def fit_gravity(pairs: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(pairs with `fitted_visits`, a one-row summary: slopes with 95 % intervals, deviance
    explained, and Pearson and Spearman correlations of visits per 100,000 with distance)."""
    pairs = pairs.copy()
    summary: dict[str, object] = {"model": "poisson_gravity", "pairs": len(pairs),
                                  "pairs_with_visits": int((pairs["visits"] > 0).sum())}
    if len(pairs) >= 3 and pairs["distance_km"].nunique() > 1:
        for name, test in (("pearson", stats.pearsonr), ("spearman", stats.spearmanr)):
            result = test(pairs["visits_per_100k"], pairs["distance_km"])
            summary[f"{name}_rate_distance"] = round(float(result.statistic), 4)
            summary[f"{name}_p_value"] = float(result.pvalue)
    if len(pairs) < MIN_PAIRS or summary["pairs_with_visits"] == 0:
        log.info("flows: %d region pairs (%d with visits): too few for the gravity model",
                 len(pairs), summary["pairs_with_visits"])
        return pairs, _summary_frame(summary)
    design = sm.add_constant(pd.DataFrame({
        "log_origin_population": np.log(pairs["origin_population"].astype("float64")),
        "log_destination_population": np.log(pairs["destination_population"].astype("float64")),
        "log_distance_km": np.log(pairs["distance_km"].clip(lower=1.0)),
    }), has_constant="add")
    fit = sm.GLM(pairs["visits"].astype("float64"), design, family=sm.families.Poisson()).fit()
    pairs["fitted_visits"] = fit.fittedvalues.round(2)
    interval = fit.conf_int()
    for term in GRAVITY_TERMS:
        summary[f"{term}_coef"] = round(float(fit.params[term]), 4)
        summary[f"{term}_ci_low"] = round(float(interval.loc[term, 0]), 4)
        summary[f"{term}_ci_high"] = round(float(interval.loc[term, 1]), 4)
    summary.update({
        "deviance": round(float(fit.deviance), 2), "null_deviance": round(float(fit.null_deviance), 2),
        "deviance_explained": round(1.0 - float(fit.deviance) / float(fit.null_deviance), 4)
        if fit.null_deviance else None,
        "pearson_chi2_per_df": round(float(fit.pearson_chi2) / float(fit.df_resid), 2)
        if fit.df_resid else None,
        "aic": round(float(fit.aic), 2),
    })
    return pairs, _summary_frame(summary)


def _summary_frame(summary: dict[str, object]) -> pd.DataFrame:
    """One row with every summary column (NaN where not computed), numbers as floats."""
    frame = pd.DataFrame([summary]).reindex(columns=list(SUMMARY_COLUMNS))
    numbers = [c for c in SUMMARY_COLUMNS if c not in ("model", "pairs", "pairs_with_visits")]
    frame[numbers] = frame[numbers].astype("float64")
    return frame
