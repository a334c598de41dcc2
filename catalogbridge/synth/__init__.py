"""Synthetic national dataset with ground truth for CatalogBridge.

Real settlement data is confidential, so tests and demos run on generated catalogs and
fee-detail rows whose true national codes and expected per-pair statistics are known.

    python -m catalogbridge.synth --out data/synth --rows 2000000
    python -m catalogbridge.synth --help

Pipeline: library (national items) -> catalogs (31 provinces) -> model (flows, usage
tables) -> settlements (chunks of whole visits) -> dirty (defects) -> writer (Parquet/CSV)
and truth (expected stats), orchestrated by generate.
"""
