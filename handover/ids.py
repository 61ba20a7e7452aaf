"""Ids made many times a second (sends, transcript entries, drain tokens): unique, not secret.

uuid4 reads the kernel's randomness with a system call each time, which showed in the workers' profiles;
these come from the process's own generator (seeded from the kernel when the process starts). Anything
that must not be guessed (agents' tokens, conversation ids in links) keeps using the kernel's.
"""

from __future__ import annotations

import random


def new_id() -> str:
    """32 hex digits, like uuid4().hex."""
    return f"{random.getrandbits(128):032x}"
