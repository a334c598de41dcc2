"""Tests of the synthetic dataset generator (no Spark)."""
