"""Unit fixtures: the handover domain on a fake Redis server (tests/support/world.py)."""

from __future__ import annotations

import pytest

from tests.support.world import World


@pytest.fixture
def world() -> World:
    """The worker's and desk's services with the shipped rules, two partitions, the clock at T0."""
    return World()
