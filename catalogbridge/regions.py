"""Province-level administrative divisions (GB/T 2260) used to label reports and charts."""

from __future__ import annotations

PROVINCE_NAMES: dict[str, str] = {
    "110000": "北京", "120000": "天津", "130000": "河北", "140000": "山西", "150000": "内蒙古",
    "210000": "辽宁", "220000": "吉林", "230000": "黑龙江",
    "310000": "上海", "320000": "江苏", "330000": "浙江", "340000": "安徽", "350000": "福建",
    "360000": "江西", "370000": "山东",
    "410000": "河南", "420000": "湖北", "430000": "湖南", "440000": "广东", "450000": "广西",
    "460000": "海南",
    "500000": "重庆", "510000": "四川", "520000": "贵州", "530000": "云南", "540000": "西藏",
    "610000": "陕西", "620000": "甘肃", "630000": "青海", "640000": "宁夏", "650000": "新疆",
}


def region_label(code: str | None) -> str:
    """'浙江' for a province code, '浙江 330100' for a city code, the code itself otherwise."""
    if not code:
        return "?"
    province = PROVINCE_NAMES.get(code[:2] + "0000")
    if province is None:
        return code
    return province if code.endswith("0000") else f"{province} {code}"
