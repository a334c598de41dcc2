"""Cross-region care analytics: flows, who travels, cost benchmarks, surge alerts."""
