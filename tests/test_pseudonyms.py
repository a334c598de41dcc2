"""Keyed pseudonyms: HMAC-SHA256 as the RFC computes it, the same in Spark, keys checked."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from chispa import assert_df_equality
from pyspark.sql import SparkSession

from catalogbridge.privacy.pseudonyms import key_check, pseudonym, pseudonymised
from catalogbridge.privacy.settings import PrivacySettings
from catalogbridge.settings import SettingError

KEY = b"0123456789abcdef0123456789abcdef"


def test_pseudonym_is_rfc_4231_hmac_sha256() -> None:
    """RFC 4231, test case 2 (key "Jefe")."""
    assert pseudonym(b"Jefe", "what do ya want for nothing?", 64) == (
        "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843")
    assert pseudonym(KEY, "MDT0001", 32) == pseudonym(KEY, "MDT0001", 64)[:32]
    assert pseudonym(KEY, "MDT0001", 32) != pseudonym(KEY + b"x", "MDT0001", 32)
    assert key_check(KEY) != key_check(KEY + b"x")


def test_spark_pseudonyms_equal_the_pure_core(spark: SparkSession) -> None:
    values = ["MDT0001", "MDT0001", "患者-001", "  ", "", None, "x" * 200]
    rows = spark.createDataFrame([(i, v, v) for i, v in enumerate(values)],
                                 "line int, psn_no string, item string")
    long_key = KEY * 3  # longer than SHA-256's block: hashed first, as HMAC says
    for key in (KEY, long_key):
        expected = spark.createDataFrame(
            [(i, v if v is None or not v.strip() else pseudonym(key, v, 32), v)
             for i, v in enumerate(values)], "line int, psn_no string, item string")
        result = pseudonymised(rows, columns=["psn_no"], key=key, length=32, spark=spark)
        assert_df_equality(result, expected, ignore_row_order=True, ignore_nullable=True)


def test_the_key_stays_out_of_the_plan(spark: SparkSession) -> None:
    rows = spark.createDataFrame([("MDT0001",)], "mdtrt_id string")
    plan = pseudonymised(rows, columns=["mdtrt_id"], key=KEY, length=32, spark=spark) \
        ._jdf.queryExecution().toString()
    assert KEY.hex() not in plan.lower() and KEY.decode() not in plan
    pads = [bytes(b ^ p for b in KEY.ljust(64, b"\0")).hex() for p in (0x36, 0x5C)]
    assert not any(pad[:16] in plan.lower() for pad in pads)


def test_keys_come_from_the_environment_or_a_private_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    monkeypatch.delenv("CATALOGBRIDGE_KEY", raising=False)
    with pytest.raises(SettingError, match="no pseudonymisation key: set CATALOGBRIDGE_KEY"):
        PrivacySettings().key()
    missing = tmp_path / "nokey"
    with pytest.raises(SettingError, match=f"{missing} does not exist"):
        PrivacySettings(key_file=str(missing)).key()
    key_file = tmp_path / "key"
    key_file.write_text("short\n", encoding="utf-8")
    key_file.chmod(0o600)
    with pytest.raises(SettingError, match="has 5 characters, fewer than 32"):
        PrivacySettings(key_file=str(key_file)).key()
    key_file.write_text(KEY.decode() + "\n", encoding="utf-8")
    assert PrivacySettings(key_file=str(key_file)).key() == KEY
    assert "can be read by other users" not in caplog.text
    key_file.chmod(0o644)
    with caplog.at_level(logging.WARNING):
        assert PrivacySettings(key_file=str(key_file)).key() == KEY
    assert "can be read by other users; chmod 600 it" in caplog.text
    monkeypatch.setenv("CATALOGBRIDGE_KEY", "e" * 40)
    assert PrivacySettings(key_file=str(key_file)).key() == b"e" * 40


def test_pseudonym_length_is_checked() -> None:
    with pytest.raises(SettingError, match="pseudonym_length"):
        PrivacySettings(pseudonym_length=8)
