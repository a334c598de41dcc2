"""Pipeline stages: each module exposes `main(argv)` and reads -> transforms -> writes."""
