"""Normalisation of Chinese medical-service item names, in one place.

Catalogs spell the same item with full- or half-width characters, different bracket styles,
spaces and punctuation, a trailing 费 ("fee"), scope notes such as (含…)/(不含…), per-unit
suffixes, local synonyms (检测 for 测定, 显像 for 显象) and Latin acronyms in either case.
Matching compares these keys, never the raw names. Bracketed qualifiers that tell sibling
items apart, (单次)/(多次), (1.5T)/(3.0T), are kept: only notes and glosses are dropped.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

_BRACKETS = str.maketrans({"【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")",
                           "{": "(", "}": ")", "「": "(", "」": ")", "<": "(", ">": ")",
                           "〈": "(", "〉": ")", "《": "(", "》": ")", "〖": "(", "〗": ")"})
_SPACES = re.compile(r"\s+")
# Scope notes: (含胶片), (不含耗材); a bracket that merely contains 含 (含气造影) is kept.
_NOTE = re.compile(r"\((?:不|另)?含[^()]*\)")
_TAIL_NOTE = re.compile(r"[,，;；。](?:不|另)?含.*$")
# Per-unit suffixes: 针刺/次, 床位费/日, (计价单位:次). A bracketed (每部位) or (每疗程) is
# kept: national items such as 耳穴压豆 and 耳穴压豆(每部位) differ only by it.
_UNITS = "次|日|天|小时|例|人次|项|个|床日|疗程|部位|侧|牙|穴位|组|张|周|月"
_UNIT = re.compile(rf"(?:/(?:每)?(?:{_UNITS})$|\(计价单位:?(?:{_UNITS})\))")
# Punctuation, and characters a name could not carry: the sample's "_" and user-defined
# code points (Private Use Area) of a HIS font that conf/synonyms.yaml does not read.
_DROP = re.compile(r"[_·•、，,。.;；:：'\"“”‘’!！?？~～\-—–/／\\|\ue000-\uf8ff]+")
_EMPTY_BRACKETS = re.compile(r"\(\)")
_FEE_WORD = re.compile(r"(费用|费)(?=\(|$)")
_LATIN = re.compile(r"[a-z0-9]")
# A bracket holding only Latin letters, digits and dots: (CT), (1.5T), (PET/CT) after _DROP.
LATIN_GROUP = re.compile(r"\([a-z0-9+]+\)")


def _base_form(name: str) -> str:
    """Width, case, brackets and spaces only; synonym lists are written in this form too."""
    text = unicodedata.normalize("NFKC", name).translate(_BRACKETS).lower()
    return _SPACES.sub("", text)


def _bounded(variant: str) -> str:
    """A Latin variant (ct, crp) must not match inside a longer Latin word (pet/ct is fine)."""
    pattern = re.escape(variant)
    if _LATIN.match(variant[0]):
        pattern = r"(?<![a-z0-9/])" + pattern
    if _LATIN.match(variant[-1]):
        pattern += r"(?![a-z0-9/])"
    return pattern


@dataclass(frozen=True)
class Normalizer:
    """Turns names into comparison keys; `synonyms` groups list the preferred spelling first.

    `acronyms` maps an acronym to its expansion(s): a bracketed gloss `…(ACR)` is dropped, and
    a bare acronym is spelled out when it stands for one expansion only.
    """

    synonyms: tuple[tuple[str, ...], ...] = ()
    acronyms: tuple[tuple[str, str], ...] = ()
    _replace: re.Pattern[str] | None = field(init=False, default=None, repr=False, compare=False)
    _gloss: re.Pattern[str] | None = field(init=False, default=None, repr=False, compare=False)
    _table: dict[str, str] = field(init=False, default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        table: dict[str, str] = {}
        expansions: dict[str, set[str]] = {}
        for acronym, expansion in self.acronyms:
            acr, exp = _base_form(acronym), _base_form(expansion)
            if acr and exp:
                expansions.setdefault(acr, set()).add(exp)
        for acr, exps in expansions.items():
            if len(exps) == 1:
                table[acr] = next(iter(exps))
        for group in self.synonyms:
            forms = [_base_form(g) for g in group if g is not None]
            for variant in forms:  # the preferred spelling maps to itself: 推拿治疗 stays whole
                if variant:
                    table.setdefault(variant, forms[0])
        object.__setattr__(self, "_table", table)
        if expansions:  # a bracketed acronym is a gloss of the words before it: (CT), (MRI)
            glosses = "|".join(re.escape(a) for a in sorted(expansions, key=lambda a: (-len(a), a)))
            object.__setattr__(self, "_gloss", re.compile(rf"(?<!^)\((?:{glosses})\)"))
        if table:
            ordered = sorted(table, key=lambda v: (-len(v), v))  # longest spelling wins
            object.__setattr__(self, "_replace", re.compile("|".join(_bounded(v) for v in ordered)))

    def __call__(self, name: str | None) -> str:
        """Canonical key used for exact and fuzzy comparison (never shown to users)."""
        if not name:
            return ""
        text = _TAIL_NOTE.sub("", _NOTE.sub("", _base_form(name)))
        if self._gloss is not None:
            text = self._gloss.sub("", text)
        if self._replace is not None:
            text = self._replace.sub(lambda m: self._table[m.group(0)], text)
        text = _DROP.sub("", _UNIT.sub("", text))
        text = _EMPTY_BRACKETS.sub("", text)
        return _FEE_WORD.sub("", text)

    def keys(self, names: Iterable[str | None]) -> list[str]:
        return [self(n) for n in names]

    def without_drops(self) -> Normalizer:
        """The same lists less the groups that delete a word (such as 血清)."""
        return Normalizer(tuple(g for g in self.synonyms if all(s for s in g)), self.acronyms)


def loose_key(key: str) -> str:
    """A key without bracket characters: qualifiers written in front, (复杂)X vs X(复杂), agree."""
    return key.replace("(", "").replace(")", "")


def strip_latin_groups(key: str) -> str:
    """A key without bracketed Latin qualifiers such as (1.5t) or (ct); for near-tie checks."""
    return LATIN_GROUP.sub("", key)


BASIC = Normalizer()


def load_normalizer(path: str | Path | None) -> Normalizer:
    """Read a synonym file (see conf/synonyms.yaml); None means no synonyms."""
    if path is None:
        return BASIC
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected a mapping with 'synonyms' and 'acronyms'")
    return normalizer_from_dict(data, str(path))


def normalizer_from_dict(data: Mapping[str, Any], where: str = "synonyms") -> Normalizer:
    unknown = set(data) - {"synonyms", "acronyms", "qualifiers"}
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; "
                         "use 'synonyms' (lists), 'acronyms' (ACRONYM: expansion) and "
                         "'qualifiers' (kind: phrases, patterns)")
    groups = data.get("synonyms") or []
    if not isinstance(groups, Sequence) or isinstance(groups, str) or any(
            not isinstance(g, Sequence) or isinstance(g, str) or len(g) < 2 for g in groups):
        raise ValueError(f"{where}: 'synonyms' must be a list of lists with at least two "
                         "spellings each, preferred spelling first")
    acronyms = data.get("acronyms") or {}
    if not isinstance(acronyms, Mapping):
        raise ValueError(f"{where}: 'acronyms' must map ACRONYM to its expansion(s)")
    pairs: list[tuple[str, str]] = []
    for acr, exp in acronyms.items():
        for one in (exp if isinstance(exp, list) else [exp]):
            pairs.append((str(acr), str(one)))
    return Normalizer(tuple(tuple("" if s is None else str(s) for s in g) for g in groups),
                      tuple(pairs))


def spelling_key(name: str | None) -> str:
    """Width, case, brackets and punctuation only: names equal here are spelled the same."""
    return _DROP.sub("", _base_form(name)) if name else ""


def synonym_collisions(names: Sequence[str],
                       normalizer: Callable[[str], str]) -> dict[str, list[int]]:
    """Library names that normalisation makes equal although they are spelled differently.

    Such a rule (a synonym, a dropped word, note or unit) would merge two national items.
    """
    by_key: dict[str, list[int]] = {}
    for i, name in enumerate(names):
        by_key.setdefault(normalizer(name), []).append(i)
    return {key: idx for key, idx in by_key.items()
            if len(idx) > 1 and len({spelling_key(names[i]) for i in idx}) > 1}


class TieredKeys:
    """Keys that never merge two national items: a name whose key would, tries a plainer rule set.

    Tiers: the full lists, the lists without dropped words, no lists, spelling only. The
    library and local names go down the same tiers, so 铁蛋白检测费 still finds 铁蛋白测定
    when the library also has 血清铁蛋白测定.
    """

    def __init__(self, names: Sequence[str], normalizer: Normalizer) -> None:
        self.tiers: list[Callable[[str], str]] = [normalizer, normalizer.without_drops(), BASIC,
                                                  spelling_key]
        found = [synonym_collisions(names, t) for t in self.tiers[:-1]]
        self.merged = list(found[0].values())  # what the full lists would have merged
        self.clashes = [frozenset(f) for f in found]

    def __call__(self, name: str) -> str:
        for tier, clashes in zip(self.tiers, self.clashes, strict=False):
            key = tier(name)
            if key not in clashes:
                return key
        return self.tiers[-1](name)
