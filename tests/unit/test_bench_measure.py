"""The bench's percentile (bench/measure.py): nearest rank, and an answer that never came is the slowest."""

from __future__ import annotations

import math

from bench.measure import percentile


def test_percentile_is_the_nearest_rank():
    values = [float(n) for n in range(1, 101)]
    assert (percentile(values, 0.5), percentile(values, 0.99), percentile(values, 1.0)) == (50.0, 99.0, 100.0)
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0


def test_answers_that_never_came_count_as_slowest():
    assert percentile([0.1] * 98 + [math.inf] * 2, 0.99) == math.inf
    assert percentile([0.1] * 99 + [math.inf], 0.99) == 0.1
    assert math.isnan(percentile([], 0.5))
