"""Privacy settings (conf `privacy`): which identifiers become pseudonyms, with which key,
and which published counts are hidden."""

from __future__ import annotations

import logging
import os
import stat
from dataclasses import dataclass, field
from pathlib import Path

from catalogbridge.privacy.pseudonyms import Pseudonymiser
from catalogbridge.settings import SettingError

log = logging.getLogger(__name__)

IDENTIFIERS = ("psn_no", "mdtrt_id", "setl_id", "feedetl_sn")
MIN_KEY_CHARACTERS = 32  # e.g. 64 hex digits from `secrets.token_hex(32)`: 256 bits
KEY_HOWTO = ("create one with: python -c \"import secrets; print(secrets.token_hex(32))\" "
             "> <file>; chmod 600 <file>")


@dataclass(frozen=True)
class PrivacySettings:
    """Keyed pseudonyms (HMAC-SHA256) for person and visit identifiers.

    The key is read from the environment variable `key_env` or, if that is unset, from
    `key_file`; it is never part of the conf, so a conf file can be shared.
    """

    pseudonymise: list[str] = field(default_factory=lambda: list(IDENTIFIERS))  # replaced at ingest
    key_env: str = "CATALOGBRIDGE_KEY"
    key_file: str | None = None
    pseudonym_length: int = 32  # hex digits kept of the 64 of HMAC-SHA256 (128 bits)
    min_cell: int = 11  # published visit counts 1..min_cell-1 are hidden (CMS: 1-10)
    # What every hidden cell shows: the same for primary and complementary cells, as telling
    # them apart would say which ones are below min_cell.
    mark: str = "*"

    def __post_init__(self) -> None:
        if not 16 <= self.pseudonym_length <= 64:
            raise SettingError("pseudonym_length", "must be between 16 and 64 hex digits "
                               "(32 = 128 bits: no collision expected below 10^15 values)")
        if self.min_cell < 1:
            raise SettingError("min_cell", f"must be at least 1 (1 publishes every count), "
                                           f"got {self.min_cell}; the CMS rule is 11")
        if not self.mark.strip() or _is_number(self.mark):
            raise SettingError("mark", f"{self.mark!r} is blank or reads as a number; use a text "
                                       "such as \"*\"")
        if not self.key_env:
            raise SettingError("key_env", "is empty; name the environment variable that "
                               "holds the key (default CATALOGBRIDGE_KEY)")

    def pseudonymiser(self) -> Pseudonymiser:
        return Pseudonymiser(tuple(self.pseudonymise), self.key(), self.pseudonym_length)

    def key(self) -> bytes:
        """The key's bytes; a missing or short key stops the run with how to make one."""
        text = os.environ.get(self.key_env)
        where = f"environment variable {self.key_env}"
        if text is None and self.key_file:
            path = Path(self.key_file)
            if not path.is_file():
                raise SettingError("key_file", f"{path} does not exist; {KEY_HOWTO}")
            if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
                log.warning("privacy.key_file %s can be read by other users; chmod 600 it", path)
            text, where = path.read_text(encoding="utf-8"), f"key file {path}"
        if text is None:
            raise SettingError("key_file", f"no pseudonymisation key: set {self.key_env} or "
                               f"privacy.key_file; {KEY_HOWTO}")
        key = text.strip()
        if len(key) < MIN_KEY_CHARACTERS:
            raise SettingError("key_file" if where.startswith("key") else "key_env",
                               f"the key in {where} has {len(key)} characters, fewer than "
                               f"{MIN_KEY_CHARACTERS}; {KEY_HOWTO}")
        return key.encode("utf-8")


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
