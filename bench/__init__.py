"""Benchmarks: every figure is printed beside a baseline measured in the same run on the same machine."""
