"""Benchmarks: scripts that print numbers (see RESULTS.md)."""

from pd_lib.memory import avoid_hugepage_stalls

avoid_hugepage_stalls()  # as the steps do, before a benchmark imports numpy
