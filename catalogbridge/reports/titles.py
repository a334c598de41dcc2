"""What users read instead of technical names: Chinese column titles, region, class and
function names beside their codes, amounts in yuan with two decimals.

One pure-pandas core (`labelled`, `csv_frame`) serves the CSV exports (in Spark through
`mapInPandas`), the HTML reports and the workbooks, so a column reads the same everywhere.
`report.headers: technical` keeps today's names for machine use.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping

import numpy as np
import pandas as pd
from pyspark.sql import DataFrame
from pyspark.sql import functions as F
from pyspark.sql.types import DecimalType, DoubleType, FloatType, StringType, StructField, StructType

from catalogbridge.labels import CLASS_L1_NAMES, CLASS_L2_NAMES, FUNCTION_NAMES, region_label

KEY_TITLES: dict[str, str] = {
    "insured_admdvs": "参保地", "treatment_admdvs": "就医地", "admdvs": "地区",
    "catalog_region": "目录地区", "catalog_admdvs": "目录行政区划", "unit": "测算单位",
    "group_name": "区域组", "rule": "共同目录规则", "min_members": "最少成员数",
    "national_code": "国家编码", "national_name": "项目名称", "class_l1": "一级分类",
    "class_l2": "二级分类", "function": "项目功能", "grouping": "分组方式", "group_code": "分组",
    "in_data": "有数据",
    "scheme": "方案", "threshold": "纳入阈值（人次）", "year": "年度", "parameter": "参数",
    "cap_index": "预算档", "table": "表",
    "med_type": "医疗类别", "period": "期间", "cross_level": "跨区层级", "rank": "排名",
    "dimension": "维度", "value": "取值", "fixmedins_code": "定点医药机构编码",
    "hosp_level": "医院等级", "baseline_period": "基期", "measure": "监测指标",
    "alert_rank": "预警排名", "driver": "驱动类型", "driver_rank": "驱动排名", "code": "编码",
    "reason": "原因", "plateau": "效率平台期", "model": "模型", "check": "检查项", "side": "方向",
    "fix": "处理建议", "touch": "关联方式",
}
COUNT_TITLES: dict[str, str] = {
    "covering_regions": "覆盖该项目的就医地数", "covering_members": "覆盖该项目的成员数",
    "item_count": "项目数", "items": "差异项目数", "items_used": "有使用的项目数", "visits": "就诊人次",
    "visits_treatment": "就医地就诊人次", "visits_home": "参保地就诊人次",
    "visits_total": "合计就诊人次", "visits_away": "异地就诊人次", "persons": "人数",
    "lines": "明细条数", "rows": "行数", "baseline_visits": "基期就诊人次",
    "visits_current": "现行就诊人次", "visits_new": "纳入后就诊人次",
    "scheme_items": "阈值方案项目数", "scheme_visits": "阈值方案就诊人次",
    "optimal_items": "最优组合项目数", "optimal_visits": "最优组合就诊人次",
    "extra_visits": "最优组合多覆盖人次", "home_visits": "本地就医人次",
    "own_visits": "就医地本地参保人就诊人次", "inflow_visits": "流入就诊人次",
    "outflow_visits": "流出就诊人次", "home_persons": "参保地就医人数",
    "outflow_persons": "流出人数", "inflow_persons": "流入人数", "net_inflow_visits": "净流入就诊人次",
    "primary_cells": "首要隐藏格数", "complementary_cells": "补充隐藏格数",
    "derived_cells": "连带隐藏格数", "published_cells": "发布格数", "pairs": "地区对数",
    "insured_regions": "参保地数", "clean_rows": "保留行数", "quarantined_rows": "隔离行数",
    "pairs_with_visits": "有就诊的地区对数",
}
MONEY_TITLES: dict[str, str] = {
    "fee_treatment": "就医地费用（元）", "fee_home": "参保地费用（元）", "fee_total": "合计费用（元）",
    "cap": "预算上限（元）", "cost_unit": "成本单位（元）",
    "fee_away": "异地费用（元）", "added_spend": "新增医保支出（元）", "fees": "费用（元）",
    "fund_paid": "统筹支付（元）", "baseline_fees": "基期费用（元）", "money_at_stake": "高出基期金额（元）",
    "fees_current": "现行费用（元）", "fees_new": "纳入后费用（元）", "fund_current": "现行基金支出（元）",
    "fund_new": "纳入后基金支出（元）", "patient_current": "现行个人负担（元）",
    "patient_new": "纳入后个人负担（元）", "fund_impact": "基金新增支出（元）",
    "patient_relief": "个人负担减轻（元）", "fund_impact_to_date": "累计基金新增支出（元）",
    "psa_mean": "概率模拟均值（元）", "psa_median": "概率模拟中位数（元）",
    "psa_low": "95%区间下限（元）", "psa_high": "95%区间上限（元）",
    "psa_mean_to_date": "累计概率模拟均值（元）", "psa_median_to_date": "累计概率模拟中位数（元）",
    "psa_low_to_date": "累计95%区间下限（元）", "psa_high_to_date": "累计95%区间上限（元）",
    "impact_base": "基准情形（元）", "impact_low": "参数取低值（元）", "impact_high": "参数取高值（元）",
    "swing": "波动幅度（元）", "spend": "支出（元）", "scheme_spend": "阈值方案支出（元）",
    "optimal_spend": "最优组合支出（元）", "fees_per_visit": "次均费用（元）",
    "fees_per_person": "人均费用（元）", "home_fees_per_visit": "参保地次均费用（元）",
    "home_fees_per_person": "参保地人均费用（元）", "own_fees_per_visit": "就医地本地次均费用（元）",
    "own_fees_per_person": "就医地本地人均费用（元）", "home_fees": "本地就医费用（元）",
    "outflow_fees": "流出费用（元）", "inflow_fees": "流入费用（元）", "own_fees": "本地参保人费用（元）",
    "net_inflow_fees": "净流入费用（元）", "fee_at_stake": "待审费用（元）",
    "mapped_fees": "已映射费用（元）",
}
RATE_TITLES: dict[str, str] = {  # percentages (0-100), shares (0-1), ratios and coefficients
    "visits_retention_pct": "人次保留率（%）", "spend_decline_pct": "支出降幅（%）",
    "visits_pct": "人次占方案1（%）", "spend_pct": "支出占方案1（%）", "rise_pct": "增幅（%）",
    "visits_treatment_pct": "就医地人次占比（%）", "fee_treatment_pct": "就医地费用占比（%）",
    "visits_home_pct": "参保地人次占比（%）", "fee_home_pct": "参保地费用占比（%）",
    "visits_total_pct": "合计人次占比（%）", "fee_total_pct": "合计费用占比（%）",
    "visit_share": "人次占比", "fee_share": "费用占比", "fund_share": "统筹支付比例",
    "home_fund_share": "参保地统筹支付比例", "own_fund_share": "就医地本地统筹支付比例",
    "share_of_rise": "占增量比例", "outflow_rate": "外出就医率",
    "quarantined_pct": "隔离行占比（%）", "mapped_fee_pct": "已映射费用占比（%）",
    # ratios
    "visit_cost_vs_home": "次均费用/参保地", "visit_cost_vs_own": "次均费用/就医地本地",
    "person_cost_vs_home": "人均费用/参保地", "person_cost_vs_own": "人均费用/就医地本地",
    "inflow_outflow_ratio": "流入/流出", "preference_index": "偏好指数", "contribution": "增量贡献",
    "low_offset": "低值偏移", "high_offset": "高值偏移", "log_distance_km_coef": "距离系数",
    "log_distance_km_ci_low": "距离系数下限", "log_distance_km_ci_high": "距离系数上限",
    "deviance_explained": "解释偏差比例", "pearson_chi2_per_df": "离散度（Pearson χ²/df）",
}
COLUMN_TITLES: dict[str, str] = {**KEY_TITLES, **COUNT_TITLES, **MONEY_TITLES, **RATE_TITLES}

REGION_COLUMNS = ("insured_admdvs", "treatment_admdvs", "admdvs", "catalog_region")
MONEY = frozenset(MONEY_TITLES)
PERCENT = frozenset(c for c, t in RATE_TITLES.items() if "（%）" in t)
SHARES = frozenset(("visit_share", "fee_share", "fund_share", "home_fund_share", "own_fund_share",
                    "share_of_rise", "outflow_rate", "inflow_visits_share", "own_visits_share",
                    "inflow_fees_share", "own_fees_share", "share_first", "share_last"))
# Columns whose text is a number (published measures are text: '12' or the privacy mark);
# every other column is text even when it looks like one (codes, periods).
MEASURES = frozenset(COUNT_TITLES) | MONEY | frozenset(RATE_TITLES)
_CODE_NAMES = {"class_l1": CLASS_L1_NAMES, "class_l2": CLASS_L2_NAMES}
# Names shown beside a code value ('fee_not_positive 费用非正（退费等）').
VALUE_NAMES: dict[str, dict[str, str]] = {
    "reason": {
        "missing_item_code": "缺项目编码", "missing_item_name": "缺项目名称", "missing_fee": "缺费用",
        "invalid_fee": "费用无法解析", "fee_not_positive": "费用非正（退费等）",
        "duplicate_feedetl_sn": "明细流水号重复", "missing_feedetl_sn": "缺明细流水号",
        "missing_visit_id": "缺就诊编号", "invalid_time": "时间无法解析", "out_of_period": "不在分析期间",
        "med_type_excluded": "医疗类别不在分析范围", "invalid_region": "行政区划无效",
        "unknown_region": "无该地区目录", "item_not_in_catalog": "项目不在就医地目录",
        "gender_limited_item": "限性别项目", "age_limited_item": "限年龄项目"},
    "parameter": {"fund_share": "基金支付比例", "induced_demand": "诱导需求", "price_change": "价格变化",
                  "growth": "年增长率", "uptake": "纳入节奏"},
    "rule": {"union": "并集（任一成员覆盖）", "majority": "多数（不少于最少成员数覆盖）"},
    "touch": {"institution": "本地机构", "insured": "本地参保人"},
    "unit": {"pair": "地区对", "insured": "参保地", "group": "区域组"},
    "measure": {"fees": "费用", "visits": "就诊人次"},
    "driver": {"item": "项目", "insured_region": "参保地"},
    "grouping": {"class_l1": "一级分类", "class_l2": "二级分类", "function": "功能", "total": "合计"},
    "med_type": {"11": "普通门诊", "12": "门诊挂号", "13": "急诊", "14": "门诊慢特病", "21": "普通住院",
                 "all": "全部"},
}


def title(column: str) -> str:
    """The Chinese title of a column; the technical name where none is defined."""
    return COLUMN_TITLES.get(column, column)


def region_name(code: object, names: Mapping[str, str]) -> str:
    """'浙江省 330000': the reference's name beside the code (labels' province name otherwise)."""
    if code is None or (isinstance(code, float) and pd.isna(code)) or code == "":
        return ""
    text = str(code)
    name = names.get(text)
    if name:
        return f"{name} {text}"
    label = region_label(text)
    return text if label == text else (label if label.endswith(text) else f"{label} {text}")


def _code_name(code: object, names: Mapping[str, str]) -> object:
    if code is None or (isinstance(code, float) and pd.isna(code)):
        return code
    name = names.get(str(code))
    return f"{code} {name}" if name else code


def labelled(frame: pd.DataFrame, region_names: Mapping[str, str]) -> pd.DataFrame:
    """Names beside region, class and function codes; other columns as they are."""
    out = frame.copy()
    for column in out.columns:
        if column in REGION_COLUMNS:
            out[column] = out[column].map(lambda c: region_name(c, region_names) or None)
        elif column in _CODE_NAMES:
            out[column] = out[column].map(lambda c, n=_CODE_NAMES[column]: _code_name(c, n))
        elif column == "function":
            out[column] = out[column].map(lambda f: FUNCTION_NAMES.get(f, f))
        elif column in VALUE_NAMES:
            out[column] = out[column].map(lambda c, n=VALUE_NAMES[column]: _code_name(c, n))
    return out


def technical_frame(frame: pd.DataFrame) -> pd.DataFrame:
    """A file read back from its Chinese form: technical names, bare codes (the inverse of
    `csv_frame` on keys; measures stay text)."""
    by_title = {t: c for c, t in COLUMN_TITLES.items()}
    out = frame.rename(columns=lambda t: by_title.get(t, t))
    functions = {n: f for f, n in FUNCTION_NAMES.items()}
    for column in out.columns:
        if column in REGION_COLUMNS:
            out[column] = out[column].map(lambda v: v.rsplit(" ", 1)[-1] if isinstance(v, str) else v)
        elif column in _CODE_NAMES or column in VALUE_NAMES:
            out[column] = out[column].map(lambda v: v.split(" ", 1)[0] if isinstance(v, str) else v)
        elif column == "function":
            out[column] = out[column].map(lambda v: functions.get(v, v))
    return out


def yuan_text(value: object) -> object:
    """A number as yuan with two decimals ('1234.50'); a published mark or blank as it is."""
    number = pd.to_numeric(pd.Series([value]), errors="coerce").iloc[0]
    return value if pd.isna(number) else f"{number:.2f}"


def number_text(value: object) -> object:
    """A fractional number in positional notation (never `1.2E-4`); anything else as it is."""
    if isinstance(value, float) and not pd.isna(value):
        return np.format_float_positional(value, trim="-")
    return value


def csv_frame(frame: pd.DataFrame, region_names: Mapping[str, str]) -> pd.DataFrame:
    """The CSV a user opens in Excel: labelled codes, yuan with two decimals, Chinese titles,
    every value as text (blank for a missing one)."""
    out = labelled(frame, region_names).astype(object)
    for column in out.columns:
        out[column] = out[column].map(yuan_text if column in MONEY else number_text)
    out = out.map(lambda v: None if v is None or (isinstance(v, float) and pd.isna(v)) else str(v))
    return out.rename(columns=title)


def readable(df: DataFrame, *, region_names: Mapping[str, str]) -> DataFrame:
    """`csv_frame` in Spark, partition by partition (order within a partition kept). Whole
    numbers, dates and flags are cast to text in Spark first, so a count with blanks never
    reaches pandas as a float ('12.0')."""
    titles = [title(c) for c in df.columns]
    if len(set(titles)) != len(titles):
        raise ValueError(f"two columns of {df.columns} share a title: give them distinct ones")
    fractional = {f.name for f in df.schema.fields
                  if isinstance(f.dataType, DoubleType | FloatType | DecimalType)}
    texts = df.select(*(F.col(c).cast(DoubleType()) if c in fractional else F.col(c).cast(StringType())
                        for c in df.columns))
    schema = StructType([StructField(t, StringType()) for t in titles])
    names = dict(region_names)

    def convert(batches: Iterable[pd.DataFrame]) -> Iterator[pd.DataFrame]:
        for batch in batches:
            yield csv_frame(batch, names)

    return texts.mapInPandas(convert, schema)
