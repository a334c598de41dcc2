"""Item families of the national library and the local qualifiers written around them.

The national spec numbers a family by its 9-digit base: the main item (sub-item 0000),
sub-items (0100, 0200 …) and surcharges (0001 …). Real price lists write a family name plus a
local qualifier: a room class (单人间), a duration (每增加一小时), an extent (双侧), a surcharge
(再次手术加收) or a lab method (化学发光法), in brackets, after a dash, appended, or in front
with the family name in brackets. Such a name is the family's sub-item when one has that
qualifier, otherwise the family's main item; never a reason to merge two national items, as
the qualifier is read only after the whole name failed to match exactly.
"""

from __future__ import annotations

import bisect
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from rapidfuzz import fuzz

from udfs.normalize import LATIN_GROUP, loose_key, strip_latin_groups

KINDS = ("room", "duration", "extent", "surcharge", "method", "population")
UNKNOWN = "unknown"  # the label of a qualifier outside the vocabulary (learning reads it)
VARIANT = "variant"  # an unknown qualifier short enough to be a local variant of the family
VARIANT_SHARE = 1.5  # its characters at most this many times the family name's
_NEGATIONS = ("不", "非", "除", "未", "无")
_LATIN_CHARS = re.compile(r"[a-z0-9]")
MIN_HEAD = 3  # characters of a family name read in front of a qualifier (诊查 is too short)
MIN_LEADING = 3  # characters of a vocabulary phrase read in front of a family name
MIN_SPECIFIER = 4  # characters of a member's own qualifier read without its family name
MIN_TRUNCATED = 6  # characters of a cut-off name that may stand for the family it starts
QUALIFIER_MATCH = 90.0  # a local qualifier this close to a sub-item's picks that sub-item
_PHRASE_MATCH = 80.0  # a misspelt vocabulary phrase (电化学法光法) still counts as read
_BRACKETED = re.compile(r"\(([^()]*)\)?$")
_GROUP = re.compile(r"\(([^()]*)\)")
_JOINERS = re.compile(r"或|及|和|与|\+|＋")
_FEE = re.compile(r"^(费用|费)|(费用|费)$")  # 床位费-单人间: the fee word sits between the two


@dataclass(frozen=True)
class Qualifiers:
    """Local qualifier vocabularies by kind (`qualifiers` in conf/synonyms.yaml), key forms."""

    phrases: tuple[tuple[str, str], ...] = ()  # (kind, phrase)
    patterns: tuple[tuple[str, str], ...] = ()  # (kind, regular expression)
    # phrases also read in front of a family name though shorter than MIN_LEADING (双侧X);
    # other short ones there are words of names (一般, 复杂)
    leading: frozenset[str] = frozenset()

    def normalised(self, key_of: Callable[[str], str]) -> Qualifiers:
        """The vocabulary in the key form the names are compared in."""
        return Qualifiers(tuple((k, loose_key(key_of(p))) for k, p in self.phrases
                                if loose_key(key_of(p))), self.patterns,
                          frozenset(loose_key(key_of(p)) for p in self.leading))

    def reads_in_front(self, phrase: str) -> bool:
        return len(phrase) >= MIN_LEADING or phrase in self.leading

    def in_front_of(self, text: str) -> list[str]:
        """The phrases `text` starts with that are read in front of a name (vocabulary order)."""
        return [p for _, p in self.phrases if self.reads_in_front(p) and text.startswith(p)]

    def is_phrase(self, text: str) -> bool:
        return any(text == phrase for _, phrase in self.phrases)

    def kind_of(self, text: str) -> str | None:
        """The kind of a qualifier when all of it is vocabulary (phrases, patterns, a 加收)."""
        if not text:
            return None
        rest, kinds = text, []
        for kind, pattern in self.patterns:
            rest, found = re.subn(pattern, "", rest)
            kinds += [kind] * found
        for kind, phrase in sorted(self.phrases, key=lambda kp: -len(kp[1])):
            if phrase in rest:
                rest = rest.replace(phrase, "")
                kinds.append(kind)
        if kinds:  # 免疫荧光法或放免法: what joins two phrases is not a qualifier of its own
            rest = _JOINERS.sub("", rest)
        if rest and not any(fuzz.ratio(rest, p) >= _PHRASE_MATCH for _, p in self.phrases):
            return None
        if not kinds:  # only a misspelt phrase is left
            kinds = [max(self.phrases, key=lambda kp: fuzz.ratio(rest, kp[1]))[0]]
        return kinds[0]


def load_qualifiers(path: str | Path | None) -> Qualifiers:
    """The `qualifiers` of a synonym file (see conf/synonyms.yaml); None means none."""
    if path is None:
        return Qualifiers()
    data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or {}
    if not isinstance(data, Mapping):
        raise ValueError(f"{path}: expected a mapping with 'synonyms', 'acronyms', 'qualifiers'")
    return qualifiers_from_dict(data, str(path))


def qualifiers_from_dict(data: Mapping[str, Any], where: str) -> Qualifiers:
    """`qualifiers: {kind: {phrases: [...], patterns: [...], leading: [...]}}`; an error names
    the key. `leading` phrases are phrases too."""
    raw = data.get("qualifiers") or {}
    if not isinstance(raw, Mapping):
        raise ValueError(f"{where}: 'qualifiers' must map a kind ({', '.join(KINDS)}) to "
                         "its phrases and patterns")
    phrases: list[tuple[str, str]] = []
    patterns: list[tuple[str, str]] = []
    leading: set[str] = set()
    for kind, lists in raw.items():
        if kind not in KINDS:
            raise ValueError(f"{where}: qualifiers.{kind}: unknown kind; use one of "
                             f"{', '.join(KINDS)}")
        if not isinstance(lists, Mapping) or set(lists) - {"phrases", "patterns", "leading"}:
            raise ValueError(f"{where}: qualifiers.{kind}: expected 'phrases', 'patterns' "
                             "and/or 'leading' lists")
        for entry in lists.get("phrases") or []:
            phrases.append((kind, str(entry)))
        for entry in lists.get("leading") or []:
            leading.add(str(entry))
            if (kind, str(entry)) not in phrases:
                phrases.append((kind, str(entry)))
        for entry in lists.get("patterns") or []:
            try:
                re.compile(str(entry))
            except re.error as exc:
                raise ValueError(f"{where}: qualifiers.{kind}.patterns: {entry!r} is not a "
                                 f"regular expression ({exc})") from None
            patterns.append((kind, str(entry)))
    return Qualifiers(tuple(phrases), tuple(patterns), frozenset(leading))


@dataclass(frozen=True)
class FamilyRead:
    """What was read in a local name: the family, the qualifier, and the member it points to."""

    family: str
    item: int  # the chosen member (library position); -1 when the family has no main item
    qualifier: str
    kind: str | None  # vocabulary kind, "sub_item" when a sub-item has the qualifier, or None

    @property
    def certain(self) -> bool:
        """A qualifier that is vocabulary or a sub-item's own: the family may be accepted."""
        return self.item >= 0 and self.kind is not None

    def label(self) -> str:
        """What was read, for reviewers: `room:单人间`, `unknown:泵维护`, `no_main:…`."""
        kind = (self.kind or UNKNOWN) if self.item >= 0 else "no_main"
        return f"{kind}:{self.qualifier}"


class FamilyIndex:
    """Families of the library by 9-digit base, with their names (heads) and members."""

    def __init__(self, codes: Sequence[str], keys: Sequence[str], qualifiers: Qualifiers,
                 clashing: Sequence[Sequence[int]] = ()) -> None:
        self.qualifiers = qualifiers
        self.family_of = [family_code(c) for c in codes]
        members: dict[str, list[int]] = defaultdict(list)
        for i, family in enumerate(self.family_of):
            members[family].append(i)
        plain_keys = [plain(k) for k in keys]
        self.main: dict[str, int] = {}
        self.heads: dict[str, set[str]] = defaultdict(set)
        self.member_qualifier: dict[int, str] = {}
        self.members = {f: tuple(v) for f, v in members.items()}
        for family, items in members.items():
            mains = [i for i in items if codes[i].endswith("0000") or len(items) == 1]
            head = plain_keys[mains[0]] if mains else _common_head(
                [plain(keys[i].split("(")[0]) for i in items])
            if mains:
                self.main[family] = mains[0]
            if len(head) >= 2:
                self.heads[head].add(family)
            for i in items:
                own = plain_keys[i]
                if own.startswith(head) and own != head:
                    self.member_qualifier[i] = own[len(head):]
        self.sorted_heads = sorted(self.heads)
        self.specifiers = self._specifiers()
        spellings = Counter(plain_keys)
        self._spelled = [spellings[k] for k in plain_keys]
        self._latin = [_latin(k) for k in keys]
        # Names a synonym would have merged (血清铁蛋白测定, 铁蛋白测定) are not read as families:
        # a local 血清铁蛋白测定(化学发光法) would lose its 血清 and read as the other one.
        self.clashing = {plain_keys[i] for group in clashing for i in group}

    def read(self, key: str) -> FamilyRead | None:
        """The family a local key names with a qualifier, if one can be read (see module)."""
        loose = plain(key)
        for head, rest in self._splits(key, loose):
            segments = [t for t in (_FEE.sub("", g) for g in re.split(r"[()]", rest)) if t]
            families = self.heads.get(head)
            if families and segments:  # the most specific reading decides, even if ambiguous
                if len(families) > 1 or head in self.clashing:
                    return None
                # a variant is only read in brackets behind the name, never from text running on
                room = len(head) if rest.startswith("(") else 0
                return self._member(next(iter(families)), segments, _latin(key), room)
        return self._specified(key)

    def _specifiers(self) -> dict[str, int]:
        """Members' own qualifiers that name one member on their own (普通电针 of 电针(普通电针)):
        no other member, family name or vocabulary phrase is written the same."""
        owners: dict[str, list[int]] = defaultdict(list)
        for item, qualifier in self.member_qualifier.items():
            owners[qualifier].append(item)
        return {q: items[0] for q, items in owners.items()
                if len(items) == 1 and len(q) >= MIN_SPECIFIER and q not in self.heads
                and not self.qualifiers.kind_of(q)}

    def _specified(self, key: str) -> FamilyRead | None:
        """A member's own qualifier written without its family name, vocabulary qualifiers
        around it allowed (静脉采血(6岁及以下) is 静脉注射(静脉采血)); not when the text also
        holds another family's name (远红外线治疗 holds 红外线治疗: which one it is, a reviewer says)."""
        core = plain(self.core(key))
        core = next((core[len(p):] for p in self.qualifiers.in_front_of(core)
                     if core[len(p):] in self.specifiers), core)  # 单侧颈外动脉外膜剥脱术
        item = self.specifiers.get(core)
        if item is None or any(len(head) >= MIN_HEAD and head in core and
                               self.family_of[item] not in families
                               for head, families in self.heads.items()):
            return None
        return FamilyRead(self.family_of[item], item, plain(key),
                          self._kind(item, "sub_item", _latin(key)))

    def core(self, key: str) -> str:
        """The key without its bracketed vocabulary qualifiers, the name a search compares:
        (同切口)(6岁及以下) never changes which family a name is, but dilutes every score until
        the right family is not even a candidate. The key itself when nothing else is left."""
        def kept(group: re.Match[str]) -> str:
            text = _FEE.sub("", plain(group.group(1)))
            return "" if self.qualifiers.kind_of(text) else group.group(0)
        core = _GROUP.sub(kept, key)
        return core if len(plain(core)) >= MIN_HEAD else key

    def truncated(self, key: str) -> list[int]:
        """Main items of the families whose name starts with a cut-off key (candidates only)."""
        loose = plain(key)
        if len(loose) < MIN_TRUNCATED:
            return []
        start = bisect.bisect_left(self.sorted_heads, loose)
        found: list[int] = []
        for head in self.sorted_heads[start:start + 3]:
            if not head.startswith(loose):
                break
            found += [self.main[f] for f in sorted(self.heads[head]) if f in self.main]
        return found

    def _splits(self, key: str, loose: str) -> list[tuple[str, str]]:
        """(head, qualifier text with its brackets) readings, most specific first: the family
        name in front (the longest that is one), the qualifier in front with the family
        bracketed behind, a vocabulary phrase in front (of MIN_LEADING characters or one of
        the `leading` ones: 一般, 复杂 are words of names, 双侧 is not)."""
        bracketed = strip_latin_groups(key)
        out = [(loose[:n], _rest(bracketed, n)) for n in range(len(loose) - 1, MIN_HEAD - 1, -1)
               if loose[:n] in self.heads]
        opened = bracketed.find("(")
        front = plain(bracketed[:opened]) if opened > 0 else loose
        if len(front) < MIN_HEAD and front in self.heads and front != loose:
            out.append((front, bracketed[opened:]))  # a short name only right before a bracket
        tail = _BRACKETED.search(key)
        if tail and tail.start() > 0:
            out.append((_FEE.sub("", plain(tail.group(1))), plain(key[:tail.start()])))
        for phrase in self.qualifiers.in_front_of(loose):
            if len(loose) - len(phrase) >= MIN_HEAD:
                out.append((loose[len(phrase):], phrase))
            if front != loose and front.startswith(phrase) and \
                    len(front) - len(phrase) >= MIN_HEAD:  # 双侧肺修补术(6岁及以下)
                out.append((front[len(phrase):], phrase + bracketed[opened:]))
        return out

    def _member(self, family: str, segments: list[str], latin: set[str], room: int) -> FamilyRead:
        """The member a qualifier picks; `room`: the length of a family name the qualifier
        stands in brackets behind (0: no variant may be read)."""
        qualifier = "".join(segments)
        is_phrase = self.qualifiers.is_phrase(qualifier)
        own = {i: self.member_qualifier[i] for i in self.members[family]
               if i in self.member_qualifier}
        exact = [i for i, q in own.items() if q == qualifier]
        if not exact:  # a name cut inside its qualifier
            exact = [i for i, q in own.items() if len(qualifier) >= 2 and q.startswith(qualifier)]
        if not exact and not is_phrase:
            # a sub-item's qualifier inside a longer one: (Whipple术)(复杂), but 电化学发光法 is a
            # method of its own, not 化学发光法
            inside = [(len(q), i) for i, q in own.items() if len(q) >= 2 and q in qualifier]
            longest = max(inside, default=(0, -1))
            exact = [i for n, i in inside if n == longest[0]]
        if len(exact) == 1:
            return FamilyRead(family, exact[0], qualifier, self._kind(exact[0], "sub_item", latin))
        scored = sorted(((fuzz.ratio(qualifier, q), i) for i, q in own.items()), reverse=True)
        if not is_phrase and scored and scored[0][0] >= QUALIFIER_MATCH and (
                len(scored) == 1 or scored[1][0] < scored[0][0]):
            return FamilyRead(family, scored[0][1], qualifier,
                              self._kind(scored[0][1], "sub_item", latin))
        item = self.main.get(family, -1)
        kinds = [self.qualifiers.kind_of(g) for g in segments]
        kind = kinds[0] if all(kinds) else _variant(
            "".join(g for g, k in zip(segments, kinds, strict=True) if k is None), room)
        return FamilyRead(family, item, qualifier, self._kind(item, kind, latin))

    def _kind(self, item: int, kind: str | None, latin: set[str]) -> str | None:
        """No kind (so no automatic match) for a member spelled like an item of another family
        or a name with a Latin qualifier the member lacks: 数字化摄影(CR) is not (DR)."""
        if item >= 0 and (self._spelled[item] > 1 or not latin <= self._latin[item]):
            return None
        return kind


def _variant(unknown: str, room: int) -> str | None:
    """VARIANT for an unknown qualifier short beside the family name (`room`: its length, 0
    where no variant may be read), a local variant of the item (髁状突陈旧性骨折整复术 + 升支截骨);
    a longer one may name another procedure, and a negation (不做…, 非…) or a Latin gloss
    another item."""
    if len(unknown) > VARIANT_SHARE * room or unknown.startswith(_NEGATIONS) or _LATIN_CHARS.search(unknown):
        return None
    return VARIANT


def plain(key: str) -> str:
    """A key without brackets or bracketed Latin glosses: how family names are compared."""
    return loose_key(strip_latin_groups(key))


def _latin(key: str) -> set[str]:
    return set(LATIN_GROUP.findall(key))


def _rest(bracketed: str, n: int) -> str:
    """The text after the first n name characters, brackets kept."""
    seen = 0
    for pos, ch in enumerate(bracketed):
        if seen == n:
            return bracketed[pos:]
        seen += ch not in "()"
    return ""


def family_code(code: str) -> str:
    """The 9-digit base of a 15-digit NHSA code; any other code is a family of its own."""
    return code[2:11] if len(code) == 15 and code.isdigit() else code


def _common_head(heads: list[str]) -> str:
    """The longest common start of the members' names before their brackets."""
    first, last = min(heads), max(heads)
    n = 0
    while n < min(len(first), len(last)) and first[n] == last[n]:
        n += 1
    return first[:n]
