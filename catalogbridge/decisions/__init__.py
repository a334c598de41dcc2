"""Decisions a catalog committee makes: per insured region and per region group (issue 12)."""
