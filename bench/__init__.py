"""Benchmarks: `make bench` (full sizes) and `make bench-quick` (under a minute). See bench/README.md."""
