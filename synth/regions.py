"""Provinces, cities and patient flows between them.

Real GB/T 2260 codes so the pipeline's region logic (province = first two digits + '0000')
is exercised on realistic values; approximate capital coordinates, 2023 population and GDP
per capita drive catalog richness and a gravity model of cross-province care. Flows are
concentrated the way real ones are: the national medical centres draw more than their size,
and regional integration (长三角, 京津冀) sends members' patients to their hub.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Province:
    code: str
    name: str
    short: str
    lat: float
    lon: float
    pop_m: float  # resident population, millions (2023, approx.)
    gdp_pc: float  # GDP per capita, 10k yuan (2023, approx.)
    pull: float  # attraction for patients from elsewhere (hub hospitals, migrant hosts)
    outflow: float  # relative propensity of its insured to seek care in another province
    cities: tuple[tuple[str, str, float], ...]  # (code, name, weight); first = capital


PROVINCES: tuple[Province, ...] = (
    Province("110000", "北京市", "北京", 39.90, 116.40, 21.9, 20.0, 10.0, 0.35, (("110100", "北京市", 1.0),)),
    Province("120000", "天津市", "天津", 39.13, 117.20, 13.6, 12.3, 1.5, 0.9, (("120100", "天津市", 1.0),)),
    Province(
        "130000", "河北省", "河北",
        38.04, 114.51, 74.0, 5.9, 0.6, 1.7,
        (
            ("130100", "石家庄市", 1.0),
            ("130200", "唐山市", 0.7),
            ("130600", "保定市", 0.8),
            ("130400", "邯郸市", 0.7),
        ),
    ),
    Province(
        "140000", "山西省", "山西",
        37.87, 112.55, 34.7, 7.3, 0.5, 1.1,
        (("140100", "太原市", 1.0), ("140200", "大同市", 0.5), ("140800", "运城市", 0.6)),
    ),
    Province(
        "150000", "内蒙古自治区", "内蒙古",
        40.84, 111.75, 24.0, 10.2, 0.5, 1.4,
        (("150100", "呼和浩特市", 1.0), ("150200", "包头市", 0.8), ("150400", "赤峰市", 0.7)),
    ),
    Province(
        "210000", "辽宁省", "辽宁",
        41.80, 123.43, 42.0, 7.2, 1.0, 0.9,
        (("210100", "沈阳市", 1.0), ("210200", "大连市", 0.9), ("210300", "鞍山市", 0.4)),
    ),
    Province(
        "220000", "吉林省", "吉林",
        43.82, 125.32, 23.4, 5.9, 0.6, 1.2,
        (("220100", "长春市", 1.0), ("220200", "吉林市", 0.5), ("222400", "延边朝鲜族自治州", 0.3)),
    ),
    Province(
        "230000", "黑龙江省", "黑龙江",
        45.80, 126.53, 30.6, 5.1, 0.6, 1.4,
        (("230100", "哈尔滨市", 1.0), ("230200", "齐齐哈尔市", 0.4), ("230600", "大庆市", 0.4)),
    ),
    Province("310000", "上海市", "上海", 31.23, 121.47, 24.9, 19.0, 10.0, 0.35, (("310100", "上海市", 1.0),)),
    Province(
        "320000", "江苏省", "江苏",
        32.06, 118.80, 85.3, 15.1, 3.0, 0.8,
        (
            ("320100", "南京市", 1.0),
            ("320200", "无锡市", 0.8),
            ("320300", "徐州市", 0.8),
            ("320500", "苏州市", 1.1),
            ("320600", "南通市", 0.7),
        ),
    ),
    Province(
        "330000", "浙江省", "浙江",
        30.27, 120.15, 66.3, 12.5, 3.5, 0.7,
        (
            ("330100", "杭州市", 1.0),
            ("330200", "宁波市", 0.8),
            ("330300", "温州市", 0.8),
            ("330400", "嘉兴市", 0.5),
            ("330700", "金华市", 0.6),
        ),
    ),
    Province(
        "340000", "安徽省", "安徽",
        31.82, 117.23, 61.2, 7.7, 0.7, 1.7,
        (
            ("340100", "合肥市", 1.0),
            ("340200", "芜湖市", 0.4),
            ("341200", "阜阳市", 0.7),
            ("340800", "安庆市", 0.4),
        ),
    ),
    Province(
        "350000", "福建省", "福建",
        26.07, 119.30, 41.8, 12.9, 1.2, 0.6,
        (("350100", "福州市", 1.0), ("350200", "厦门市", 0.7), ("350500", "泉州市", 0.9)),
    ),
    Province(
        "360000", "江西省", "江西",
        28.68, 115.86, 45.2, 7.1, 0.6, 1.4,
        (("360100", "南昌市", 1.0), ("360700", "赣州市", 0.9), ("360400", "九江市", 0.5)),
    ),
    Province(
        "370000", "山东省", "山东",
        36.65, 117.00, 101.2, 9.2, 1.3, 0.7,
        (
            ("370100", "济南市", 1.0),
            ("370200", "青岛市", 1.0),
            ("370600", "烟台市", 0.7),
            ("370700", "潍坊市", 0.9),
            ("371300", "临沂市", 1.0),
        ),
    ),
    Province(
        "410000", "河南省", "河南",
        34.75, 113.63, 98.2, 6.0, 1.0, 1.2,
        (
            ("410100", "郑州市", 1.0),
            ("410300", "洛阳市", 0.6),
            ("411300", "南阳市", 0.8),
            ("411600", "周口市", 0.7),
        ),
    ),
    Province(
        "420000", "湖北省", "湖北",
        30.59, 114.31, 58.4, 9.5, 2.0, 0.8,
        (("420100", "武汉市", 1.0), ("420500", "宜昌市", 0.4), ("420600", "襄阳市", 0.5)),
    ),
    Province(
        "430000", "湖南省", "湖南",
        28.23, 112.94, 65.7, 7.5, 1.5, 1.0,
        (("430100", "长沙市", 1.0), ("430200", "株洲市", 0.4), ("430400", "衡阳市", 0.6)),
    ),
    Province(
        "440000", "广东省", "广东",
        23.13, 113.26, 127.1, 10.7, 6.0, 0.35,
        (
            ("440100", "广州市", 1.0),
            ("440300", "深圳市", 1.0),
            ("440600", "佛山市", 0.6),
            ("441900", "东莞市", 0.7),
        ),
    ),
    Province(
        "450000", "广西壮族自治区", "广西",
        22.82, 108.37, 50.3, 5.4, 0.6, 1.0,
        (("450100", "南宁市", 1.0), ("450200", "柳州市", 0.5), ("450300", "桂林市", 0.5)),
    ),
    Province(
        "460000", "海南省", "海南",
        20.04, 110.35, 10.4, 7.2, 2.0, 1.2,
        (("460100", "海口市", 1.0), ("460200", "三亚市", 0.5)),
    ),
    Province(
        "500000", "重庆市", "重庆",
        29.56, 106.55, 31.9, 9.4, 2.0, 0.9,
        (("500100", "重庆市市辖区", 1.0), ("500200", "重庆市县", 0.3)),
    ),
    Province(
        "510000", "四川省", "四川",
        30.57, 104.07, 83.7, 7.2, 3.0, 0.7,
        (
            ("510100", "成都市", 1.0),
            ("510700", "绵阳市", 0.4),
            ("511300", "南充市", 0.5),
            ("511500", "宜宾市", 0.4),
        ),
    ),
    Province(
        "520000", "贵州省", "贵州",
        26.65, 106.63, 38.7, 5.5, 0.5, 1.2,
        (("520100", "贵阳市", 1.0), ("520300", "遵义市", 0.8), ("520500", "毕节市", 0.7)),
    ),
    Province(
        "530000", "云南省", "云南",
        25.04, 102.71, 46.7, 6.4, 0.8, 0.8,
        (("530100", "昆明市", 1.0), ("530300", "曲靖市", 0.6), ("532500", "红河哈尼族彝族自治州", 0.5)),
    ),
    Province(
        "540000", "西藏自治区", "西藏",
        29.65, 91.13, 3.6, 5.8, 0.2, 2.0,
        (("540100", "拉萨市", 1.0), ("540200", "日喀则市", 0.6)),
    ),
    Province(
        "610000", "陕西省", "陕西",
        34.34, 108.94, 39.5, 8.6, 2.5, 0.7,
        (
            ("610100", "西安市", 1.0),
            ("610300", "宝鸡市", 0.4),
            ("610400", "咸阳市", 0.5),
            ("610800", "榆林市", 0.4),
        ),
    ),
    Province(
        "620000", "甘肃省", "甘肃",
        36.06, 103.83, 24.7, 4.8, 0.4, 1.2,
        (("620100", "兰州市", 1.0), ("620500", "天水市", 0.4), ("620900", "酒泉市", 0.2)),
    ),
    Province(
        "630000", "青海省", "青海",
        36.62, 101.78, 5.9, 6.6, 0.3, 1.5,
        (("630100", "西宁市", 1.0), ("630200", "海东市", 0.5)),
    ),
    Province(
        "640000", "宁夏回族自治区", "宁夏",
        38.49, 106.23, 7.3, 7.0, 0.3, 1.3,
        (("640100", "银川市", 1.0), ("640200", "石嘴山市", 0.3), ("640300", "吴忠市", 0.4)),
    ),
    Province(
        "650000", "新疆维吾尔自治区", "新疆",
        43.83, 87.62, 26.3, 7.4, 0.6, 0.8,
        (("650100", "乌鲁木齐市", 1.0), ("650200", "克拉玛依市", 0.2), ("653100", "喀什地区", 0.6)),
    ),
)

HUB_PROVINCES = ("110000", "310000", "440000", "510000", "610000")
# Hub -> members of its integration programme (one-card direct settlement without 备案).
INTEGRATION: dict[str, tuple[str, ...]] = {
    "310000": ("320000", "330000", "340000"),
    "110000": ("120000", "130000"),
}
INTEGRATION_BOOST = 3.0  # members' outflow, and their weight for the hub, are multiplied
HUB_EXPONENT = 1.5  # destination weight grows faster than pull: big centres draw the most
PROVINCE_CODES: tuple[str, ...] = tuple(p.code for p in PROVINCES)
N_PROV = len(PROVINCES)


def province_of(city_code: str) -> str:
    """Province of a 6-digit division code: first two digits + '0000'."""
    return city_code[:2] + "0000"


@dataclass(frozen=True)
class CityTable:
    """All cities as flat arrays so visits can index them with numpy."""

    codes: tuple[str, ...]
    prov: np.ndarray  # province index per city
    weight: np.ndarray  # population weight per city (sums to 1 within its province)
    first: np.ndarray  # first city index of each province
    count: np.ndarray  # number of cities of each province


def city_table() -> CityTable:
    codes: list[str] = []
    prov: list[int] = []
    weight: list[float] = []
    first: list[int] = []
    count: list[int] = []
    for i, p in enumerate(PROVINCES):
        first.append(len(codes))
        count.append(len(p.cities))
        total = sum(c[2] for c in p.cities)
        for code, _name, w in p.cities:
            codes.append(code)
            prov.append(i)
            weight.append(w / total)
    return CityTable(
        tuple(codes),
        np.array(prov, dtype=np.int64),
        np.array(weight),
        np.array(first, dtype=np.int64),
        np.array(count, dtype=np.int64),
    )


def distance_km() -> np.ndarray:
    """Great-circle distance between provincial capitals."""
    lat = np.radians([p.lat for p in PROVINCES])
    lon = np.radians([p.lon for p in PROVINCES])
    dlat = lat[:, None] - lat[None, :]
    dlon = lon[:, None] - lon[None, :]
    a = np.sin(dlat / 2) ** 2 + np.cos(lat[:, None]) * np.cos(lat[None, :]) * np.sin(dlon / 2) ** 2
    return 2 * 6371.0 * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))


def wealth_score() -> np.ndarray:
    """0..1 economic/medical capacity score: log GDP per capita plus hub pull, rescaled."""
    g = np.log([p.gdp_pc for p in PROVINCES])
    pull = np.log1p([p.pull for p in PROVINCES])
    s = 0.75 * (g - g.min()) / (g.max() - g.min()) + 0.25 * (pull - pull.min()) / (pull.max() - pull.min())
    out: np.ndarray = (s - s.min()) / (s.max() - s.min())
    return out


def _integration_pairs() -> tuple[np.ndarray, np.ndarray]:
    """(member index, hub index) of every integration programme membership."""
    pairs = [(PROVINCE_CODES.index(m), PROVINCE_CODES.index(h)) for h, ms in INTEGRATION.items() for m in ms]
    return np.array([m for m, _ in pairs]), np.array([h for _, h in pairs])


def destination_weights(decay_km: float = 650.0) -> np.ndarray:
    """Gravity model P(T | P, cross-province): pull of T (to HUB_EXPONENT) times distance
    decay, plus a long-range hub term so Beijing/Shanghai draw patients from every province."""
    d = distance_km()
    pull = np.array([p.pull for p in PROVINCES])
    w = pull[None, :] ** HUB_EXPONENT * (np.exp(-d / decay_km) + 0.04 * (pull[None, :] >= 2.5))
    member, hub = _integration_pairs()
    w[member, hub] *= INTEGRATION_BOOST
    np.fill_diagonal(w, 0.0)
    out: np.ndarray = w / w.sum(axis=1, keepdims=True)
    return out


def cross_share(target: float) -> np.ndarray:
    """Per insured province probability that a visit is cross-province (integration members'
    outflow boosted), scaled so the population-weighted mean equals `target`."""
    pop = np.array([p.pop_m for p in PROVINCES])
    out = np.array([p.outflow for p in PROVINCES])
    out[_integration_pairs()[0]] *= INTEGRATION_BOOST
    scale = target * pop.sum() / float((pop * out).sum())
    res: np.ndarray = np.clip(out * scale, 0.0, 0.5)
    return res


def neighbour_kernel(scale_km: float = 550.0) -> np.ndarray:
    """Row-normalised spatial kernel: averaging item effects with it makes neighbours alike."""
    k = np.exp(-distance_km() / scale_km)
    out: np.ndarray = k / np.sqrt((k**2).sum(axis=1, keepdims=True))
    return out


def haversine(a: Province, b: Province) -> float:
    """Distance between two capitals in km (for reports)."""
    la1, lo1, la2, lo2 = map(math.radians, (a.lat, a.lon, b.lat, b.lon))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(h))
