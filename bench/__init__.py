"""Reproducible benchmarks; `make bench` runs them all, `python -m bench.run NAME` one of them."""
