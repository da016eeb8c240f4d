"""Benchmarks of the mock on loopback (`make bench`)."""
