"""Item families and local qualifiers (udfs/families.py): each rule with the case it must get
right and the case it must leave alone. The library is hand-made; families by 9-digit base.
"""

from __future__ import annotations

import pytest

from udfs.candidates import swaps_words
from udfs.families import Qualifiers, qualifiers_from_dict
from udfs.library import NationalLibrary, code_system
from udfs.matching import MatchParams, map_items

VOCABULARY = qualifiers_from_dict({"qualifiers": {
    "room": {"phrases": ["单人间", "三人间", "加床"]},
    "duration": {"phrases": ["每增加一小时"], "patterns": ["^不足[0-9一二三]+小时$"]},
    "surcharge": {"patterns": ["^.+加收$"]},
    "method": {"phrases": ["化学发光法", "电化学发光法"]},
}}, "test")
LIBRARY = NationalLibrary(
    codes=["001109000010000", "001109000010500",  # 普通病房床位费 and its 套间 sub-item
           "002504040050000", "002504040050200",  # TPSA and its 化学发光法 sub-item
           "002504040060000",  # FPSA, a sibling family
           "001204000060000", "001204000060001",  # 静脉输液 and its pump surcharge
           "003310070060000", "003310070060100",  # 胰十二指肠切除术 and (复杂)
           "001203000010000", "001203000020000"],  # two families whose names differ by 2 chars
    names=["普通病房床位费", "普通病房床位费(套间)",
           "总前列腺特异性抗原测定(TPSA)", "总前列腺特异性抗原测定(TPSA)(化学发光法)",
           "游离前列腺特异性抗原测定(FPSA)",
           "静脉输液", "静脉输液(使用微量泵或输液泵按小时加收)",
           "胰十二指肠切除术", "胰十二指肠切除术(复杂)",
           "肌肉注射", "皮下注射"],
    qualifiers=VOCABULARY)


def match(name: str, code: str | None = None, library: NationalLibrary = LIBRARY
          ) -> dict[str, object]:
    return map_items([code], [name], [None], library, MatchParams()).iloc[0].to_dict()


@pytest.mark.parametrize("name", ["普通病房床位费(单人间)", "普通病房床位费-三人间",
                                  "普通病房床位费—加床", "单人间(普通病房床位费)",
                                  "普通病房床位费（三人间"])
def test_a_room_class_maps_to_the_main_item_in_any_writing(name: str) -> None:
    got = match(name)
    assert (got["national_code"], got["method"], got["review_status"]) == (
        "001109000010000", "family", "auto")
    assert str(got["qualifier"]).startswith("room:")


def test_a_sub_item_with_the_qualifier_wins_over_the_main_item() -> None:
    got = match("普通病房床位费(套间)费")
    assert (got["national_code"], got["method"]) == ("001109000010500", "name_exact")
    appended = match("总前列腺特异性抗原测定化学发光法")  # no brackets, no (TPSA) gloss
    assert (appended["national_code"], appended["method"], appended["qualifier"]) == (
        "002504040050200", "family", "sub_item:化学发光法")


def test_another_method_of_a_family_maps_to_its_main_item_not_the_method_sibling() -> None:
    got = match("总前列腺特异性抗原测定(电化学发光法)")
    assert (got["national_code"], got["method"], got["qualifier"]) == (
        "002504040050000", "family", "method:电化学发光法")


def test_a_misspelt_method_still_counts_as_read() -> None:
    got = match("游离前列腺特异性抗原测定(电化学法光法)")  # ratio 83.3 with 电化学发光法
    assert (got["national_code"], got["method"]) == ("002504040060000", "family")


def test_a_sub_item_qualifier_inside_a_longer_one_picks_the_sub_item() -> None:
    got = match("胰十二指肠切除术(Whipple术)(复杂)")
    assert (got["national_code"], got["qualifier"]) == ("003310070060100", "sub_item:whipple术复杂")


def test_a_surcharge_line_maps_to_its_family() -> None:
    got = match("静脉输液(使用输液泵加收)")
    assert (got["national_code"], got["method"], got["qualifier"]) == (
        "001204000060000", "family", "surcharge:使用输液泵加收")


def test_a_cut_off_qualifier_finds_the_sub_item_it_starts() -> None:
    got = match("静脉输液(使用微量泵或输液")
    assert (got["national_code"], got["method"]) == ("001204000060001", "family")


def test_an_unknown_qualifier_goes_to_review_with_the_family_first() -> None:
    got = match("静脉输液泵维护")
    assert (got["national_code"], got["review_status"], got["qualifier"]) == (
        None, "needs_review", "unknown:泵维护")
    assert got["candidate_codes"][0] == "001204000060000"


def test_a_qualifier_alone_or_with_an_unknown_name_implies_no_family() -> None:
    assert match("单人间")["national_code"] is None
    got = match("单人间病房")  # a qualifier in front of something that is not a family name
    assert (got["national_code"], got["qualifier"]) == (None, None)


def test_siblings_that_differ_by_their_own_words_stay_apart() -> None:
    # FPSA's name plus a method is FPSA's family, never TPSA's method sub-item.
    got = match("游离前列腺特异性抗原测定(化学发光法)")
    assert got["national_code"] == "002504040060000"
    # A name that is a family name plus one different character is not that family.
    assert match("肌肉注射")["national_code"] == "001203000010000"
    assert match("皮下注射")["national_code"] == "001203000020000"


def test_a_qualifier_never_merges_two_national_items() -> None:
    # X and X(单人间) both in the library: the local X(单人间) is the sub-item, X stays X.
    lib = NationalLibrary(["001109000010000", "001109000010100"],
                          ["普通病房床位费", "普通病房床位费(单人间)"], qualifiers=VOCABULARY)
    assert match("普通病房床位费(单人间)", library=lib)["national_code"] == "001109000010100"
    assert match("普通病房床位费", library=lib)["national_code"] == "001109000010000"


def test_a_name_spelled_like_items_of_two_families_is_left_to_a_reviewer() -> None:
    lib = NationalLibrary(["002103000000000", "002103000000001", "002103000010001"],
                          ["X线计算机体层(CT)扫描", "X线计算机体层(CT)扫描(使用螺旋扫描酌情加收)",
                           "X线计算机体层(CT)扫描(使用螺旋扫描酌情加收)"], qualifiers=VOCABULARY)
    got = match("X线计算机体层(CT)扫描-使用螺旋扫描酌情加收", library=lib)
    assert (got["national_code"], got["review_status"]) == (None, "needs_review")


def test_a_base_code_confirms_the_family_and_its_suffix_picks_the_member() -> None:
    got = match("胰十二指肠切除术(Whipple术式)", code="331007006-1")
    assert (got["national_code"], got["method"], got["code_system"]) == (
        "003310070060100", "code", "spec_sub")
    other = match("胰十二指肠切除术(Whipple术式)", code="120400006")  # the code of 静脉输液
    assert other["method"] != "code" and other["code_conflict"] is not None


@pytest.mark.parametrize(("code", "system"), [
    ("003101000010000", "nhsa15"), ("310100001", "spec9"), ("31010000101", "spec_sub"),
    ("310100001-1", "spec_sub"), ("310100001J2", "spec_sub"), ("SH0701", "local"),
    ("", "")])
def test_code_systems_are_recognised(code: str, system: str) -> None:
    assert code_system(code) == system


def test_an_nhsa_code_of_a_sub_item_the_library_lacks_is_evidence_for_its_family() -> None:
    got = match("普通病房床位费(单人间)", code="001109000010300")
    assert (got["national_code"], got["method"]) == ("001109000010000", "code")


def test_a_base_code_confirms_a_family_its_local_name_words_differently() -> None:
    # 卵巢囊肿烧灼术 scores 71 against 卵巢囊肿剔除术: agreement enough for the item's own code
    # (code_name_min_score 60), not for the name alone; a name that fits another item better
    # keeps that item and records the conflict.
    lib = NationalLibrary(["003313010020000", "003313010030000"], ["卵巢囊肿剔除术", "卵巢囊肿穿刺术"],
                          qualifiers=VOCABULARY)
    got = match("卵巢囊肿烧灼术", code="331301002-1", library=lib)
    assert (got["national_code"], got["method"]) == ("003313010020000", "code")
    assert match("卵巢囊肿烧灼术", library=lib)["national_code"] is None
    other = match("卵巢囊肿穿刺术", code="331301002-1", library=lib)
    assert (other["national_code"], other["code_conflict"]) == ("003313010030000", "003313010020000")


def test_a_leading_extent_is_read_in_front_of_a_family_name_other_short_words_are_not() -> None:
    lib = NationalLibrary(["003302030100000"], ["颈动脉外膜剥脱术"], qualifiers=qualifiers_from_dict(
        {"qualifiers": {"extent": {"phrases": ["一般"], "leading": ["双侧"]}}}, "test"))
    got = match("双侧颈动脉外膜剥脱术", library=lib)
    assert (got["national_code"], got["method"], got["qualifier"]) == (
        "003302030100000", "family", "extent:双侧")
    assert match("一般颈动脉外膜剥脱术", library=lib)["method"] != "family"  # a word of a name
    assert lib.families.qualifiers.kind_of("双侧") == "extent"  # a leading phrase is a phrase


def test_bad_vocabulary_names_the_key() -> None:
    with pytest.raises(ValueError, match=r"qualifiers\.colour: unknown kind"):
        qualifiers_from_dict({"qualifiers": {"colour": {"phrases": ["红"]}}}, "f.yaml")
    with pytest.raises(ValueError, match=r"qualifiers\.extent: expected 'phrases', 'patterns'"):
        qualifiers_from_dict({"qualifiers": {"extent": {"leding": ["双侧"]}}}, "f.yaml")
    with pytest.raises(ValueError, match=r"qualifiers.room.patterns: '\(' is not a regular"):
        qualifiers_from_dict({"qualifiers": {"room": {"patterns": ["("]}}}, "f.yaml")


def test_vocabulary_kinds() -> None:
    vocabulary = VOCABULARY.normalised(str)
    assert vocabulary.kind_of("不足二小时") == "duration"
    assert vocabulary.kind_of("单人间加床") == "room"
    assert vocabulary.kind_of("大隐静脉") is None
    assert Qualifiers().kind_of("单人间") is None


def test_unbracketed_words_after_a_family_name_are_not_a_qualifier() -> None:
    # 静脉输液 + 港维护 (a name going on) + (再次手术加收): the first part is not vocabulary.
    got = match("静脉输液港维护(再次手术加收)")
    assert (got["national_code"], got["qualifier"]) == (None, "unknown:港维护再次手术加收")
    assert got["candidate_codes"][0] == "001204000060000"


def test_a_short_bracketed_variant_of_a_family_name_maps_to_its_main_item() -> None:
    # 胰十二指肠切除术 + (保留幽门): a local variant the family has no sub-item for.
    got = match("胰十二指肠切除术(保留幽门)")
    assert (got["national_code"], got["method"], got["review_status"], got["qualifier"]) == (
        "003310070060000", "family", "auto", "variant:保留幽门")
    # with a vocabulary surcharge behind it too
    got = match("胰十二指肠切除术(保留幽门)(再次手术加收)")
    assert (got["national_code"], got["qualifier"]) == ("003310070060000", "variant:保留幽门再次手术加收")


@pytest.mark.parametrize("name", [
    "胰十二指肠切除术(不保留幽门)",  # a negation names something the item is not
    "静脉输液(经外周置入中心静脉导管术后冲管维护)",  # longer than 1.5 times the family name
    "静脉输液(经PICC)",  # Latin letters name another item
])
def test_a_variant_that_may_be_another_item_goes_to_review(name: str) -> None:
    got = match(name)
    assert got["national_code"] is None and got["review_status"] in ("needs_review", "no_candidate")
    assert str(got["qualifier"]).startswith("unknown:")
    assert got["candidate_codes"][0] in ("003310070060000", "001204000060000")  # the family first


def test_vocabulary_qualifiers_do_not_hide_the_family_from_the_candidates() -> None:
    # 膈疝修补术 is spelled unlike any item; its (同切口)(6岁及以下) would dilute every score.
    lib = NationalLibrary(["003309010030000", "003309010040000"], ["膈肌修补术", "膈肌折叠术"],
                          qualifiers=qualifiers_from_dict({"qualifiers": {
                              "surcharge": {"phrases": ["同切口"]},
                              "population": {"patterns": ["^[0-9]+岁及以下$"]}}}, "test"))
    got = match("膈疝修补术(同切口)(6岁及以下)", library=lib)
    assert (got["national_code"], got["review_status"]) == (None, "needs_review")
    assert got["candidate_codes"][0] == "003309010030000"
    assert lib.families.core("膈疝修补术(同切口)(6岁及以下)") == "膈疝修补术"
    assert lib.families.core("膈疝修补术(经胸)(同切口)") == "膈疝修补术(经胸)"  # unknown: kept
    assert lib.families.core("(同切口)") == "(同切口)"  # nothing else left: the key itself


def test_a_latin_qualifier_the_member_lacks_is_not_read_as_that_member() -> None:
    lib = NationalLibrary(["002101020150000"], ["数字化摄影(DR)"], qualifiers=VOCABULARY)
    assert match("数字化摄影(CR)(床旁加收)", library=lib)["national_code"] is None
    assert match("数字化摄影(DR)(床旁加收)", library=lib)["national_code"] == "002101020150000"


@pytest.mark.parametrize(("query", "item", "swapped"), [
    ("肱骨干骨折切开复位内固定术", "胫骨干骨折切开复位内固定术", True),  # one character swapped
    ("上颌雷弗特II型截骨术", "上颌雷弗特I型截骨术", True),  # a numeral added
    ("乙型肝炎病毒外膜蛋白前S2抗原测定", "乙型肝炎病毒外膜蛋白前S1抗原测定", True),
    ("复杂上颌窦底提升术", "上颌窦底提升术(复杂)", False),  # same characters, other order
    ("腹腔镜胆囊切除术", "腹腔镜下胆囊切除术", False),  # a word left out
])
def test_near_spellings_that_swap_words_are_not_accepted(query: str, item: str,
                                                         swapped: bool) -> None:
    assert swaps_words(query, item) is swapped


def test_an_item_with_no_close_name_still_gets_distant_candidates() -> None:
    params = MatchParams()
    got = map_items([None], ["静脉穿刺"], [None], LIBRARY, params).iloc[0]
    assert got["review_status"] == "no_candidate"
    assert got["candidate_codes"][0] == "001204000060000"  # 静脉输液: 200 * 2 / 8 = 50
    assert got["candidate_scores"][0] == pytest.approx(50.0)
    strict = map_items([None], ["静脉穿刺"], [None], LIBRARY,
                       MatchParams(candidate_floor=70)).iloc[0]
    assert list(strict["candidate_codes"]) == []


SPECIFIED = NationalLibrary(
    codes=["003401000240000", "003401000240100",  # 气压治疗 and its 肢体气压治疗 sub-item
           "003401000010000",  # 红外线治疗
           "003112010600000", "003112010600100",  # 外阴病光照射治疗 and its 远红外线治疗
           "003112010570000", "003112010570100",  # two families with a 微波按摩 sub-item
           "003112010580000", "003112010580100",
           "002504040050000", "002504040050200"],  # TPSA and its 化学发光法 sub-item
    names=["气压治疗", "气压治疗(肢体气压治疗)", "红外线治疗",
           "外阴病光照射治疗", "外阴病光照射治疗(远红外线治疗)",
           "乳房按摩", "乳房按摩(微波按摩)", "腹部按摩", "腹部按摩(微波按摩)",
           "总前列腺特异性抗原测定(TPSA)", "总前列腺特异性抗原测定(TPSA)(化学发光法)"],
    qualifiers=qualifiers_from_dict({"qualifiers": {
        "population": {"patterns": ["^[0-9]+岁及?(以下|以上)$"]},
        "method": {"phrases": ["化学发光法"]}}}, "test"))


@pytest.mark.parametrize("name", ["肢体气压治疗", "肢体气压治疗(6岁及以下)", "肢体气压治疗（6岁及以下）"])
def test_a_sub_items_own_words_without_the_family_name_pick_that_sub_item(name: str) -> None:
    got = match(name, library=SPECIFIED)
    assert (got["national_code"], got["method"], got["review_status"]) == (
        "003401000240100", "family", "auto")
    assert str(got["qualifier"]).startswith("sub_item:肢体气压治疗")


@pytest.mark.parametrize("name", [
    "远红外线治疗",  # holds another family's name: 红外线治疗 or this sub-item, for a reviewer
    "微波按摩",  # the words of two families' sub-items
    "化学发光法",  # a vocabulary phrase names no item on its own
])
def test_words_shared_with_another_item_or_the_vocabulary_pick_no_sub_item(name: str) -> None:
    got = match(name, library=SPECIFIED)
    assert got["national_code"] is None
    assert got["method"] == "unmatched"


AROUND = NationalLibrary(
    codes=["001206000010000",  # 洗胃, a two-character name
           "003307020100000",  # 肺修补术
           "003302030100000", "003302030100200"],  # 颈动脉外膜剥脱术 and a sub-item
    names=["洗胃", "肺修补术", "颈动脉外膜剥脱术", "颈动脉外膜剥脱术(颈外动脉外膜剥脱术)"],
    qualifiers=qualifiers_from_dict({"qualifiers": {
        "population": {"patterns": ["^[0-9]+岁及?(以下|以上)$"]},
        "extent": {"phrases": ["双侧", "单侧"], "leading": ["双侧", "单侧"]},
        "surcharge": {"phrases": ["同切口"]}}}, "test"))


@pytest.mark.parametrize(("name", "code"), [
    ("洗胃(6岁及以下)", "001206000010000"),  # a short name right before a bracket
    ("双侧肺修补术(6岁及以下)", "003307020100000"),  # an extent in front and a qualifier behind
    ("单侧颈外动脉外膜剥脱术(同切口)(6岁及以下)", "003302030100200"),  # ... around a sub-item's words
])
def test_qualifiers_on_both_sides_of_a_name_are_read(name: str, code: str) -> None:
    got = match(name, library=AROUND)
    assert (got["national_code"], got["method"], got["review_status"]) == (code, "family", "auto")


def test_a_short_name_is_read_only_right_before_a_bracket() -> None:
    assert match("洗胃机清洗", library=AROUND)["qualifier"] is None
    unknown = match("洗胃(洗胃机清洗)", library=AROUND)  # read, but the qualifier is no vocabulary
    assert (unknown["national_code"], unknown["qualifier"]) == (None, "unknown:洗胃机清洗")
    assert unknown["candidate_codes"][0] == "001206000010000"
