"""Benchmarks against rsatoolbox on the same data, in the same run (`make bench`)."""
