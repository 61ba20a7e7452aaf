"""What Redis holds at rest, searched for identity values: every key of every type, read as values and as
DUMP (the bytes an RDB snapshot or an AOF rewrite would write, which keep a stream's deleted entries while
their node lives)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager

import redis

# Ana's CPF and birth date (config/customers.yaml) in any formatting a customer or our code may give them:
# 52998224725, 529.982.247-25, 529 982 247 25; 14/03/1988, 14-03-1988, 14.03.1988, 1988-03-14, 14031988
CPF = re.compile(rb"529\D{0,2}982\D{0,2}247\D{0,2}25")
BIRTH_DATE = re.compile(rb"14\D{0,2}03\D{0,2}1988|1988\D{0,2}03\D{0,2}14")


def _values(raw: redis.Redis, key: bytes, kind: bytes) -> list[object]:
    if kind == b"string":
        return [raw.get(key)]
    if kind == b"hash":
        return [raw.hgetall(key)]
    if kind == b"list":
        return [raw.lrange(key, 0, -1)]
    if kind == b"set":
        return [raw.smembers(key)]
    if kind == b"zset":
        return [raw.zrange(key, 0, -1, withscores=True)]
    if kind == b"stream":
        groups = raw.xinfo_groups(key)
        pending = [raw.xpending_range(key, g["name"], "-", "+", 1000) for g in groups]
        return [raw.xrange(key), groups, pending]
    raise AssertionError(f"a key of a type this scan does not read: {key!r} is {kind!r}")


def traces(client: redis.Redis, *patterns: re.Pattern[bytes]) -> dict[str, list[str]]:
    """Every key whose name, values or DUMP match one of `patterns` (CPF and BIRTH_DATE unless told), and
    how ("value", "dump"). Needs a real Redis (DUMP); turns RDB compression off while it reads, so that
    what DUMP shows is what a snapshot would hold in clear."""
    patterns = patterns or (CPF, BIRTH_DATE)
    kwargs = {k: v for k, v in client.connection_pool.connection_kwargs.items() if k != "decode_responses"}
    found: dict[str, list[str]] = {}
    with _uncompressed(redis.Redis(**kwargs)) as raw:
        for key in raw.scan_iter("*"):
            kind = raw.type(key)
            if kind == b"none":  # expired between SCAN and TYPE
                continue
            seen = [
                ("name", key),
                ("value", repr(_values(raw, key, kind)).encode()),
                ("dump", raw.dump(key) or b""),
            ]
            how = [where for where, data in seen if any(p.search(data) for p in patterns)]
            if how:
                found[key.decode()] = how
    return found


@contextmanager
def _uncompressed(raw: redis.Redis) -> Iterator[redis.Redis]:
    before = raw.config_get("rdbcompression")["rdbcompression"]
    raw.config_set("rdbcompression", "no")
    try:
        yield raw
    finally:
        raw.config_set("rdbcompression", before)
        raw.close()
