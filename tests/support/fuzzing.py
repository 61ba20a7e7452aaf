"""The one Hypothesis setting of the suite's fuzz tests: derandomized (the same examples every run, so the
suite never flakes), a bounded number of examples, no deadline (2 shared cores are slow at times), no
example database. `HANDOVER_FUZZ=explore` runs random examples, 50 times as many, to look for new bugs."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

EXPLORE = os.environ.get("HANDOVER_FUZZ") == "explore"


def fuzz_settings(max_examples: int) -> settings:
    return settings(
        max_examples=max_examples * 50 if EXPLORE else max_examples,
        derandomize=not EXPLORE,
        database=None,
        deadline=None,
        # bodies are large by design (huge strings, deep nesting): that is the point, not a slow strategy
        suppress_health_check=[
            HealthCheck.too_slow,
            HealthCheck.data_too_large,
            HealthCheck.large_base_example,
        ],
        print_blob=EXPLORE,
    )
