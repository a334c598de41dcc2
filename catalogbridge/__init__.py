"""CatalogBridge: regional medical-insurance catalog coordination on Spark.

Implements the "treatment region -> national NHSA code -> insured region" method of
Huang, Luo, Zhang, Mao (2025) for every pair of regions in a settlement extract.
"""

__version__ = "0.1.0"
