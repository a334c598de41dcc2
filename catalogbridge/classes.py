"""Names of the NHSA service-item classes (the paper's Table 1), for reports and charts."""

from __future__ import annotations

from catalogbridge.columns import DIAGNOSTIC, THERAPEUTIC

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
