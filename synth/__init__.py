"""Synthetic national dataset with ground truth for CatalogBridge (development tooling).

Real settlement data is confidential, so tests and demos run on generated catalogs and
fee-detail rows whose true national codes and expected per-pair statistics are known.
This package sits beside the product (`catalogbridge`), imports nothing of it and is not
part of the wheel; run it from the repository root.

    python -m synth --out data/synth --rows 2000000
    python -m synth --help

Pipeline: library (national items) -> catalogs (31 provinces) -> model (flows, usage
tables) -> settlements (chunks of whole visits) -> dirty (defects) -> writer (Parquet/CSV)
and truth (expected stats), orchestrated by generate. `evaluation` scores a catalog
mapping against the ground truth.
"""
