"""Normalisation of Chinese medical-service item names, in one place.

Catalogs spell the same item with full- or half-width characters, different bracket styles,
spaces and punctuation, and a trailing 费 ("fee"). Matching compares normalised names.
"""

from __future__ import annotations

import re
import unicodedata

_BRACKETS = str.maketrans({"【": "(", "】": ")", "[": "(", "]": ")", "〔": "(", "〕": ")",
                           "{": "(", "}": ")", "「": "(", "」": ")", "<": "(", ">": ")",
                           "〈": "(", "〉": ")", "《": "(", "》": ")"})
_DROP = re.compile(r"[\s_·•、，,。.;；:：'\"“”‘’!！?？~～\-—–/／\\|]+")
_EMPTY_BRACKETS = re.compile(r"\(\s*\)")
_FEE_WORD = re.compile(r"(费用|费)(?=\(|$)")


def normalize_name(name: str | None) -> str:
    """Canonical form used for exact and fuzzy comparison (never shown to users)."""
    if not name:
        return ""
    text = unicodedata.normalize("NFKC", name).translate(_BRACKETS).lower()
    text = _DROP.sub("", text)
    text = _EMPTY_BRACKETS.sub("", text)
    return _FEE_WORD.sub("", text)
