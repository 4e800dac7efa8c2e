"""Benchmarks: printed figures with a side-by-side baseline, never timed unit tests."""
