"""One module per stage (`python -m jobs.<stage>`, wired by catalogbridge.pipeline.stages)."""
