"""The item vocabulary: groups of candidate names, read from the data files in `vocabulary/`.

One YAML file per service category (general, imaging, lab, clinical, surgery, rehab, tcm)
holds the groups of the level-2 classes it lists. A group sits under a 6-digit code prefix
(level-2 class + section + subsection), like the real spec, and carries what a generated
item inherits::

    classes: ["25", "26", "27"]     # level-2 classes of this file; every group is in one
    groups:
    - prefix: "250101"              # quoted: class2 + section2 + subsection2
      unit: 项                       # default 次
      price: [3, 30]                # national guide price range in yuan, default [10, 100]
      pop: 14.0                     # relative usage weight within the class, default 1
      op: 0.2                       # outpatient propensity, default 1 (ip: inpatient)
      quals: [仪器法, 手工法]         # bracket qualifiers -> sibling variants 0100, 0200 ...
      surch: [急诊检验]              # surcharge qualifiers -> 加收 items 0001, 0002 ...
      desc: ""                      # 项目内涵 (scope note), default empty
      names:                        # candidate main-item names
      - 血细胞分析
      - 全身麻醉|气管插管,喉罩         # after '|': the item's own qualifiers (replace quals)
      - cross: [[幕上, 幕下], [肿瘤切除术]]

`cross` is the one notation: every concatenation of one word from each list, the first list
varying slowest (幕上肿瘤切除术, 幕下肿瘤切除术). A word may be "" (no word), so
`cross: [["", 经腹腔镜], [胆囊切除术]]` is the open and the laparoscopic operation, and a
list may itself contain `cross` entries. A prefix may carry several groups (other price or
usage). Order matters: the generator draws a class's names from its groups in file order,
so any edit changes the generated data for a seed (and its ground truth with it).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

VOCABULARY_DIR = Path(__file__).parent / "vocabulary"
# yaml.safe_load's loader, in its libyaml build when present (5x faster on these files).
_SAFE_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_GROUP_FIELDS = ("prefix", "unit", "price", "pop", "op", "ip", "quals", "surch", "desc", "names")


@dataclass(frozen=True)
class Group:
    prefix: str  # class2 + section2 + subsection2, e.g. '250301'
    names: tuple[str, ...]  # candidate main-item names
    quals: tuple[str, ...] = ()  # bracket qualifiers -> sibling variants '0100', '0200', ...
    surch: tuple[str, ...] = ()  # surcharge qualifiers -> '0001', '0002' items
    unit: str = "次"
    price: tuple[float, float] = (10.0, 100.0)  # national guide price range, yuan
    pop: float = 1.0  # relative usage weight within its class
    op: float = 1.0  # outpatient propensity
    ip: float = 1.0  # inpatient propensity
    desc: str = ""  # 项目内涵 (scope note)


@dataclass(frozen=True)
class VocabularyFile:
    path: Path
    classes: tuple[str, ...]
    groups: tuple[Group, ...]


class VocabularyError(ValueError):
    """A malformed vocabulary file; the message names the file, the entry and the field."""


def cross(*parts: Iterable[str]) -> tuple[str, ...]:
    """All concatenations a+b+... of the given word lists, in order."""
    out: list[str] = [""]
    for part in parts:
        words = list(part)
        out = [o + w for o in out for w in words]
    return tuple(out)


class _Where:
    """Error context: a file, an entry in it and a field of that entry."""

    def __init__(self, path: Path, entry: str = "") -> None:
        self.path, self.entry = path, entry

    def error(self, field: str, problem: str, value: object = None) -> VocabularyError:
        where = f"{self.path}: {self.entry}" if self.entry else str(self.path)
        got = "" if value is None else f" (got {value!r})"
        return VocabularyError(f"{where}: field '{field}': {problem}{got}")


def _text(w: _Where, field: str, value: object, *, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise w.error(field, "expected text", value)
    if value != value.strip() or (not empty and not value):
        raise w.error(field, "expected non-empty text without surrounding spaces", value)
    return value


def _number(w: _Where, field: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise w.error(field, "expected a number >= 0", value)
    return value


def _texts(w: _Where, field: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list):
        raise w.error(field, "expected a list of words, e.g. [单侧, 双侧]", value)
    return tuple(_text(w, f"{field}[{i}]", v) for i, v in enumerate(value))


def _words(w: _Where, field: str, value: object, *, empty: bool) -> tuple[str, ...]:
    """A list of words and `cross` entries, expanded; '' is allowed inside `cross` only."""
    if not isinstance(value, list) or not value:
        raise w.error(field, "expected a non-empty list", value)
    out: list[str] = []
    for i, entry in enumerate(value):
        at = f"{field}[{i}]"
        if isinstance(entry, dict):
            if set(entry) != {"cross"}:
                raise w.error(at, "a mapping here must be {cross: [[words], [words], ...]}", entry)
            parts = entry["cross"]
            if not isinstance(parts, list) or not parts:
                raise w.error(f"{at}.cross", "expected a non-empty list of word lists", parts)
            lists = [_words(w, f"{at}.cross[{j}]", p, empty=True) for j, p in enumerate(parts)]
            words = cross(*lists)
            if not empty and "" in words:
                raise w.error(f"{at}.cross", "every combination must give a non-empty name")
            out += words
        else:
            word = _text(w, at, entry, empty=empty)
            if not empty and "|" in word and not all(word.split("|", 1)):
                raise w.error(at, "expected 'name' or 'name|qualifier,qualifier'", word)
            out.append(word)
    return tuple(out)


def _group(w: _Where, raw: object, classes: tuple[str, ...]) -> Group:
    if not isinstance(raw, dict):
        raise w.error("-", "a group must be a mapping with prefix, names, ...", raw)
    prefix = raw.get("prefix")
    if not isinstance(prefix, str) or len(prefix) != 6 or not prefix.isdigit():
        raise w.error("prefix", 'expected a quoted 6-digit code prefix, e.g. "250101"', prefix)
    w.entry += f" (prefix {prefix})"
    unknown = sorted(set(map(str, raw)) - set(_GROUP_FIELDS))
    if unknown:
        raise w.error(unknown[0], f"unknown field; allowed: {', '.join(_GROUP_FIELDS)}")
    if prefix[:2] not in classes:
        raise w.error("prefix", f"class {prefix[:2]} is not among this file's classes "
                      f"{', '.join(classes)}", prefix)
    if "names" not in raw:
        raise w.error("names", "missing")
    kw: dict[str, Any] = {}
    for key in ("unit", "desc"):
        if key in raw:
            kw[key] = _text(w, key, raw[key], empty=key == "desc")
    for key in ("quals", "surch"):
        if key in raw:
            kw[key] = _texts(w, key, raw[key])
    for key in ("pop", "op", "ip"):
        if key in raw:
            kw[key] = _number(w, key, raw[key])
    if "price" in raw:
        price = raw["price"]
        if not isinstance(price, list) or len(price) != 2:
            raise w.error("price", "expected [low, high] in yuan", price)
        low, high = (_number(w, "price", p) for p in price)
        if not 0 < low <= high:
            raise w.error("price", "expected 0 < low <= high", price)
        kw["price"] = (low, high)
    return Group(prefix, _words(w, "names", raw["names"], empty=False), **kw)


def load_file(path: Path) -> VocabularyFile:
    """Read and validate one vocabulary file; raises VocabularyError when it is malformed."""
    top = _Where(path)
    try:
        with path.open(encoding="utf-8") as fh:
            raw = yaml.load(fh, Loader=_SAFE_LOADER)
    except yaml.YAMLError as exc:  # the message ends with the line and column
        raise VocabularyError(f"{path}: not valid YAML: {' '.join(str(exc).split())}") from None
    if not isinstance(raw, dict) or set(raw) != {"classes", "groups"}:
        raise top.error("-", "expected a mapping with exactly the keys 'classes' and 'groups'",
                        sorted(map(str, raw)) if isinstance(raw, dict) else raw)
    classes = _texts(top, "classes", raw["classes"])
    bad = [c for c in classes if len(c) != 2 or not c.isdigit()]
    if bad or not classes:
        raise top.error("classes", 'expected quoted 2-digit classes, e.g. ["25", "26"]', bad)
    groups = raw["groups"]
    if not isinstance(groups, list) or not groups:
        raise top.error("groups", "expected a non-empty list of groups", groups)
    out = tuple(_group(_Where(path, f"groups[{i}]"), g, classes) for i, g in enumerate(groups))
    empty = [c for c in classes if not any(g.prefix[:2] == c for g in out)]
    if empty:
        raise top.error("classes", "class without any group", empty)
    return VocabularyFile(path, classes, out)


def load_vocabulary(directory: Path = VOCABULARY_DIR) -> tuple[VocabularyFile, ...]:
    """All `*.yaml` files of the directory, by file name; each class in exactly one file."""
    files = tuple(load_file(p) for p in sorted(directory.glob("*.yaml")))
    if not files:
        raise VocabularyError(f"{directory}: no vocabulary files (*.yaml)")
    owner: dict[str, Path] = {}
    for f in files:
        for c in f.classes:
            if c in owner:
                raise VocabularyError(f"{f.path}: field 'classes': class {c} is also in {owner[c]}")
            owner[c] = f.path
    return files
