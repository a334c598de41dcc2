"""Catalog-matching UDFs: pure-Python cores plus thin Spark wrappers."""
