"""The media spool (desk/spool.py) on a stand-in source: one download per media however many ask at once,
files kept an hour and evicted least recently used past the disk budget, never while held, and no room
(SpoolBusy) when everything on disk is held."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from desk.spool import MediaSpool, SpoolBusy
from handover.media import MediaGone, MediaTooLarge, Sink

KB = 1024


class Source:
    """Media of given sizes, each download counted; `gate` holds every download until it is set."""

    def __init__(self, sizes: dict[str, int]) -> None:
        self.sizes = sizes
        self.downloads: list[str] = []
        self.gate = asyncio.Event()
        self.gate.set()

    async def download(self, media_id: str, sink: Sink) -> str:
        self.downloads.append(media_id)
        await self.gate.wait()
        if media_id not in self.sizes:
            raise MediaGone(media_id)
        left = self.sizes[media_id]
        while left:
            sink.write(b"x" * min(left, 64 * KB))
            left -= min(left, 64 * KB)
        return "application/pdf"

    async def upload(self, phone_number_id: str, file: Path, mime_type: str, filename: str) -> str:
        return "up1"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def spool(tmp_path: Path, source: Source, disk: int = 1024 * KB, clock: Clock | None = None) -> MediaSpool:
    return MediaSpool(source, tmp_path / "spool", disk_bytes=disk, clock=clock or Clock())  # type: ignore[arg-type]


async def test_many_asking_at_once_share_one_download(tmp_path):
    source = Source({"a": 300 * KB})
    source.gate.clear()
    media = spool(tmp_path, source)
    opening = [asyncio.create_task(media.open("a")) for _ in range(10)]
    await asyncio.sleep(0.01)
    source.gate.set()
    opened = await asyncio.gather(*opening)
    assert source.downloads == ["a"]
    assert {o.path for o in opened} == {opened[0].path} and opened[0].path.stat().st_size == 300 * KB
    assert opened[0].pins == 10 and media.used == 300 * KB


async def test_the_least_recently_used_file_goes_past_the_budget_never_a_held_one(tmp_path):
    source = Source({"a": 400 * KB, "b": 400 * KB, "c": 400 * KB})
    media = spool(tmp_path, source)
    a = await media.open("a")
    b = await media.open("b")
    media.release(b)  # b is let go, a is still being served
    c = await media.open("c")
    assert a.path.exists() and not b.path.exists() and c.path.exists()
    assert media.used == 800 * KB
    media.release(a)
    media.release(c)
    await media.open("a")  # still kept: not downloaded again
    assert source.downloads == ["a", "b", "c"]


async def test_no_room_when_everything_on_disk_is_held(tmp_path):
    source = Source({"a": 600 * KB, "b": 600 * KB})
    media = spool(tmp_path, source)
    a = await media.open("a")
    with pytest.raises(SpoolBusy):
        await media.open("b")
    assert media.used == 600 * KB and not list((tmp_path / "spool").glob("*.part"))
    media.release(a)
    b = await media.open("b")  # a may go now
    assert not a.path.exists() and b.path.exists() and media.used == 600 * KB


async def test_a_file_is_downloaded_again_after_an_hour(tmp_path):
    source, clock = Source({"a": 10 * KB}), Clock()
    media = spool(tmp_path, source, clock=clock)
    first = await media.open("a")
    clock.now += 3600
    second = await media.open("a")
    assert source.downloads == ["a", "a"] and first.path.exists()  # the first is still being served
    media.release(first)
    assert not first.path.exists() and second.path.exists() and media.used == 10 * KB


async def test_a_failed_or_oversized_download_leaves_nothing(tmp_path):
    source = Source({"huge": 101 * 1024 * KB})
    media = spool(tmp_path, source, disk=1024 * 1024 * KB)
    with pytest.raises(MediaGone):
        await media.open("missing")
    with pytest.raises(MediaTooLarge):
        await media.open("huge")
    assert media.used == 0 and not list((tmp_path / "spool").iterdir())
