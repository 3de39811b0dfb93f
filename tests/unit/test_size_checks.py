"""Checks of values against the data they meet (issue 29): leaf sizes and folds against the
training rows, a generated book against the memory left."""

from __future__ import annotations

import pytest

from pd_lib.checks import (
    available_memory,
    check_folds,
    check_generated_size,
    check_leaf_size,
    generated_bytes,
)
from pd_lib.errors import PipelineError


@pytest.mark.parametrize("leaf", [0, None, "", 1, 320])
def test_leaf_sizes_that_leave_a_split_pass(leaf):
    check_leaf_size(leaf, 640)


@pytest.mark.parametrize("leaf", [321, 640, 100_000])
def test_leaf_sizes_without_a_split_are_refused_with_the_limit(leaf):
    with pytest.raises(PipelineError, match=f"min_samples_leaf {leaf} leaves no split in 640 "
                                            r"training rows .* use at most 320"):
        check_leaf_size(leaf, 640)


def test_folds_are_limited_by_the_smaller_class():
    check_folds(66, 640, 66)
    with pytest.raises(PipelineError, match="cv 67 is more folds than the 66 defaults among "
                                            "the 640 training rows"):
        check_folds(67, 640, 66)
    with pytest.raises(PipelineError, match="than the 40 non-defaults"):
        check_folds(41, 100, 60)


def test_a_generated_book_beyond_memory_is_refused_before_allocating():
    check_generated_size("synthetic", 1_000_000, 10, available=600 * 2**20)
    with pytest.raises(PipelineError, match=r"n_samples 2000000 needs about 953\.7 MiB of "
                                            r"memory to generate \(synthetic\), more than the "
                                            r"600\.0 MiB available; use at most 1,258,291"):
        check_generated_size("synthetic", 2_000_000, 10, available=600 * 2**20)
    assert generated_bytes("make_classification", 10, 7) == 10 * 24 * 10
    check_generated_size("data/german_credit.csv", 10**15, 10, available=1)  # files: not ours


def test_available_memory_is_read_here():
    found = available_memory()
    assert found is None or found > 0
