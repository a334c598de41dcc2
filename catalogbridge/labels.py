"""Names shown beside codes: the NHSA service-item classes (the paper's Table 1), the item
functions and the province-level administrative divisions (GB/T 2260)."""

from __future__ import annotations

from catalogbridge.names import DIAGNOSTIC, THERAPEUTIC

CLASS_L1_NAMES: dict[str, str] = {
    "1": "综合医疗服务类",
    "2": "医技诊疗类",
    "3": "临床诊疗类",
    "4": "中医及民族医诊疗类",
}

CLASS_L2_NAMES: dict[str, str] = {
    "11": "一般医疗服务", "12": "一般检查治疗", "13": "社区卫生服务及预防保健项目",
    "14": "其他医疗服务项目",
    "21": "医学影像", "22": "超声检查", "23": "核医学", "24": "放射治疗", "25": "检验",
    "26": "血型与配血", "27": "病理检查",
    "31": "临床各系统诊疗", "32": "经血管介入诊疗", "33": "手术治疗", "34": "物理治疗与康复",
    "41": "中医外治", "42": "中医骨伤", "43": "针刺", "44": "灸法", "45": "推拿疗法",
    "46": "中医肛肠", "47": "中医特殊疗法", "48": "中医综合",
}

FUNCTION_NAMES: dict[str, str] = {DIAGNOSTIC: "诊断性项目", THERAPEUTIC: "治疗性项目"}


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
