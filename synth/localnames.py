"""How each province spells and numbers the national items in its own catalog.

Real catalogs differ from the national library in the ways the pipeline's matcher has to
survive: bracket width, synonyms (测定/检测, 显象/显像), added 费, (含…) notes, acronyms,
moved qualifiers, and codes that keep the 9-digit base, renumber a section (a trap: a local
code often equals the base code of a *different* national item) or follow their own scheme.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from synth import vocab as V

SCHEMES = ("nhsa15", "base_suffix", "renumber", "own_alpha", "own_num")
_SURCH_RE = re.compile(r"^(.*)\(([^()]*)加收\)$")
_TAIL_RE = re.compile(r"^(.*[^()])\(([^()]+)\)$")
_ASCII_BRACKET_RE = re.compile(r"\(([A-Za-z0-9/\-\.\*]+)\)")
_MOVABLE = ("单侧", "双侧", "儿童", "小儿", "复杂", "急诊", "床旁", "再次手术", "术中")


@dataclass
class Profile:
    """A province's catalog conventions (recorded in the manifest)."""

    scheme: str
    suffix_style: str  # 'dash' | 'digits' | 'slash'
    natcode: str  # 'full' | 'partial' | 'none'
    level_style: str  # 'num' | 'jyb' | 'short'
    brackets: str  # 'half' | 'full' | 'mixed'
    synonyms: list[int] = field(default_factory=list)
    syn_p: float = 0.0
    fee_p: float = 0.0
    note_p: float = 0.0
    acr_add_p: float = 0.0
    acr_drop_p: float = 0.0
    reorder_p: float = 0.0
    surch_dash: bool = False
    punct: bool = False
    letter: str = "A"
    report_rate: float = 0.0  # share of settlement rows carrying med_list_codg

    def as_dict(self) -> dict[str, object]:
        return {k: v for k, v in self.__dict__.items()}


def make_profiles(n: int, rng: np.random.Generator) -> list[Profile]:
    """Varied conventions; every scheme and level style appears at least twice when n >= 10."""
    schemes = [SCHEMES[i % len(SCHEMES)] for i in range(n)]
    schemes = [schemes[i] for i in rng.permutation(n)]
    styles = ["jyb"] * 3 + ["short"] * 3 + ["num"] * max(0, n - 6)
    styles = [styles[i] for i in rng.permutation(n)][:n]
    letters = "ABCDEFGHJKLMNPQRSTUVWXYZ"
    out: list[Profile] = []
    for i in range(n):
        scheme = schemes[i]
        if scheme == "nhsa15":
            natcode = "full"
        else:
            natcode = ("full", "partial", "none")[int(rng.choice(3, p=[0.4, 0.3, 0.3]))]
        n_syn = len(V.SYNONYMS)
        out.append(
            Profile(
                scheme=scheme,
                suffix_style=("dash", "digits", "slash")[int(rng.integers(3))],
                natcode=natcode,
                level_style=styles[i],
                brackets=("half", "full", "mixed")[int(rng.choice(3, p=[0.4, 0.4, 0.2]))],
                synonyms=sorted(int(j) for j in np.flatnonzero(rng.random(n_syn) < 0.45)),
                syn_p=float(rng.uniform(0.3, 1.0)),
                fee_p=float(rng.choice([0.0, 0.0, 0.0, 0.4])),
                note_p=float(rng.choice([0.0, 0.0, 0.05, 0.12])),
                acr_add_p=float(rng.choice([0.0, 0.2, 0.5])),
                acr_drop_p=float(rng.choice([0.0, 0.3, 0.8])),
                reorder_p=float(rng.choice([0.0, 0.1, 0.3])),
                surch_dash=bool(rng.random() < 0.3),
                punct=bool(rng.random() < 0.4),
                letter=letters[i % len(letters)],
                report_rate=float(
                    {"full": 0.9, "partial": 0.5, "none": 0.15}[natcode] * rng.uniform(0.6, 1.0)
                ),
            )
        )
    return out


def _brackets(name: str, style: str, u: float) -> str:
    if style == "mixed":
        style = "full" if u < 0.5 else "half"
    if style == "full":
        return name.replace("(", "（").replace(")", "）")
    return name


N_UNIFORMS = 12  # random numbers one name may consume (drawn as a block: fast and stable)


def localize_name(name: str, class2: str, prof: Profile, r: list[float]) -> str:
    """One province's spelling of a national name (half-width brackets in, any out).

    `r` holds N_UNIFORMS uniforms for this item: 0 reorder, 1-2 acronyms, 3-4 note, 5 fee,
    6 bracket width, 7.. synonyms.
    """
    s = name
    m = _SURCH_RE.match(s)
    if m and prof.surch_dash:
        s = f"{m.group(1)}-{m.group(2)}加收"
    if r[0] < prof.reorder_p:
        t = _TAIL_RE.match(s)
        if t and t.group(2) in _MOVABLE:
            s = t.group(2) + t.group(1)
        elif t and t.group(1).endswith(")"):
            u = _TAIL_RE.match(t.group(1))
            if u:
                s = f"{u.group(1)}({t.group(2)})({u.group(2)})"
    for k, j in enumerate(prof.synonyms):
        nat, loc = V.SYNONYMS[j]
        if nat in s and r[7 + k % (N_UNIFORMS - 7)] < prof.syn_p:
            s = s.replace(nat, loc)
    if r[1] < prof.acr_drop_p:
        s = _ASCII_BRACKET_RE.sub("", s)
    elif r[2] < prof.acr_add_p:
        for word, acr in V.ACRONYMS.items():
            if word in s and acr not in s:
                s = s.replace(word, f"{word}({acr})", 1)
                break
    if r[3] < prof.note_p:
        notes = V.SCOPE_NOTES[class2]
        s += f"({notes[int(r[4] * len(notes))]})"
    if r[5] < prof.fee_p and not s.endswith((")", "费")):
        s += "费"
    if prof.punct:
        s = s.replace("、", "，").replace("－", "-").replace("+", "＋")
    return _brackets(s, prof.brackets, r[6])


def localize_names(
    lib: pd.DataFrame, idx: np.ndarray, prof: Profile, rng: np.random.Generator
) -> list[str]:
    """Local names for the library rows `idx`, unique within the province."""
    names = lib["item_name"].to_numpy()
    classes = lib["class2"].to_numpy()
    r = rng.random((len(idx), N_UNIFORMS)).tolist()
    out: list[str] = []
    seen: set[str] = set()
    for row, i in enumerate(idx):
        s = localize_name(str(names[i]), str(classes[i]), prof, r[row])
        if s in seen:  # a synonym made two items collide: fall back to the national spelling
            s = _brackets(str(names[i]), "full" if prof.brackets == "full" else "half", 0.0)
        seen.add(s)
        out.append(s)
    return out


def _suffix(base: str, k: int, surcharge: bool, style: str) -> str:
    if style == "digits":
        return f"{base}{'J' if surcharge else ''}{k:02d}"
    sep = "-" if style == "dash" else "/"
    return f"{base}{sep}{'J' if surcharge else ''}{k}"


def local_codes(
    lib: pd.DataFrame, idx: np.ndarray, prof: Profile, prov_code: str, rng: np.random.Generator
) -> list[str]:
    """Local item codes for library rows `idx` (sorted by national code)."""
    codes = lib["item_code"].to_numpy()[idx]
    if prof.scheme == "nhsa15":
        return [str(c) for c in codes]
    if prof.scheme in ("own_alpha", "own_num"):
        out: list[str] = []
        seq: dict[str, int] = {}
        for c in codes:
            cls = str(c)[2:4]
            seq[cls] = seq.get(cls, 0) + 1 + int(rng.random() < 0.2) * int(rng.integers(1, 4))
            if prof.scheme == "own_alpha":
                out.append(f"{prof.letter}{cls}{seq[cls]:05d}")
            else:
                out.append(f"{prov_code[:2]}{cls}{seq[cls]:06d}")
        return out
    base = [str(c)[2:11] for c in codes]
    if prof.scheme == "renumber":
        renum: dict[str, str] = {}
        count: dict[str, int] = {}
        for b in base:
            if b not in renum:
                count[b[:6]] = count.get(b[:6], 0) + 1
                renum[b] = f"{b[:6]}{count[b[:6]]:03d}"
        base = [renum[b] for b in base]
    out = []
    for b, c in zip(base, codes, strict=True):
        sub = str(c)[11:]
        if sub == "0000":
            out.append(b)
        elif sub.endswith("00"):
            out.append(_suffix(b, int(sub[:2]), False, prof.suffix_style))
        else:
            out.append(_suffix(b, int(sub), True, prof.suffix_style))
    return out
