"""Calibration targets taken from public national statistics for 2023.

Sources (public bulletins). Only the 2.43 亿 / 25.21 % figures were checked against a text
at hand (the method paper quotes them); the others are quoted from the bulletins as
remembered and rounded — re-check them against the PDFs before any quantitative use. The
generator only needs the right order of magnitude.

* 国家医疗保障局《2023年全国医疗保障事业发展统计公报》(2024-07): 异地就医 2.43 亿人次,
  异地就医费用占参保人员医疗总费用 25.21 % (both cited by the method paper);
  跨省异地就医直接结算 ≈ 1.29 亿人次, of which 住院 ≈ 1,300 万人次 and 门诊/门诊慢特病
  ≈ 1.16 亿人次.
* 国家卫生健康委《2023年我国卫生健康事业发展统计公报》(2024-08): 总诊疗 ≈ 95.5 亿人次,
  入院 ≈ 3.02 亿人次; 医院次均门诊费用 ≈ 362 元, 人均住院费用 ≈ 10,300 元, of which
  drugs and consumables are roughly half.

Derived targets used here:

* cross-province share of visits: inpatient 1,300 万 / 3.02 亿 ≈ 4.3 %, outpatient
  1.16 亿 / 95.5 亿 ≈ 1.2 % (direct settlement only, so a lower bound); chronic outpatient
  (med_type 14, many 备案 long-term residents) 3 %.
* the generated year is a small sample (1 M rows ≈ 150,000 visits, 1/60,000 of the real
  one), so a faithful sample gives a pair a few dozen visits and no distribution to speak
  of. Cross-province visits are therefore oversampled: kept CROSS_SAMPLING times as often
  as home visits (a stratified sample; divide cross-province counts by it to get population
  shares). The manifest reports the factor beside the realised sample shares.
* service-item (non-drug, non-consumable) fee per visit ≈ half of the total: outpatient
  ≈ 200 yuan, inpatient ≈ 5,200 yuan. Usage is made price-elastic and the elasticity is
  solved per med_type so the national mean hits these targets. Cross-province visits come
  out dearer (hub prices, and travellers' use leans on high-tech items few provinces
  cover, see model.py): about 2.3x outpatient, 3x chronic and 3.5x inpatient (1 M rows).
"""

from __future__ import annotations

CROSS_SHARE = {"11": 0.012, "14": 0.03, "21": 0.043}
CROSS_SAMPLING = 5.0  # sampling rate of cross-province visits relative to home visits
VISIT_MIX = {"11": 0.84, "14": 0.10, "21": 0.06}  # share of visits by med_type
TARGET_FEE_PER_VISIT = {"11": 200.0, "14": 250.0, "21": 5200.0}
MEAN_LINES = {"11": 5.25, "14": 4.0, "21": 31.0}  # mean lines per visit (see settlements)

# Probability that a home-province visit is treated in the patient's own city.
STAY_IN_CITY = {"11": 0.88, "14": 0.9, "21": 0.72}
# Probability that a cross-province visit goes to the capital of the treatment province.
CROSS_TO_CAPITAL = 0.75
VISITS_PER_PERSON = 4.0
