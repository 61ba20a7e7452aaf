"""Customers' media on their way to agents, kept as files on disk (issue 28, item 6): one download from Meta
per media at a time, however many agents open it (the others await the same download), at most `downloads`
of them at once, their bytes written to disk as they arrive, and served from the file (sendfile: a slow
client holds a socket, not memory). A file stays an hour, and the least recently used go first past the
disk budget, never while being served or written (a pin). Before, each request held the whole file in
memory until its client read it: 16 clients not reading a 100 MB document took the process to 3.7 GB."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

import structlog

from desk.tasks import stopped
from handover.media import RECEIVED_MOST, MediaSource, MediaTooLarge

log = structlog.get_logger(__name__)

KEPT_SECONDS = 3600.0  # a media file is downloaded again after this (an agent scrolling back does not)
WAITING_MOST = 32  # downloads waiting for one of the `downloads` slots; past it the next is refused
SWEEP_SECONDS = 60.0  # expired files are looked for at most this often


class SpoolBusy(Exception):
    """No room now: the disk budget is held by files being served or written, or too many downloads wait
    (503 `busy` with Retry-After for the desk)."""


@dataclass
class Spooled:
    """A media file on disk: its type as Meta gave it, its size, and who holds it (pins)."""

    media_id: str
    path: Path
    mime_type: str
    size: int
    made: float
    pins: int = 0
    kept: bool = True  # False once expired or evicted: the file goes when its last pin does


@dataclass
class MediaSpool:
    source: MediaSource
    directory: Path
    disk_bytes: int = 1024 * 1024 * 1024  # HANDOVER_MEDIA_DISK_MB
    downloads: int = 8  # from Meta at once: the media session's connections (app/web.py MEDIA_CONNECTIONS)
    kept_seconds: float = KEPT_SECONDS
    clock: Callable[[], float] = time.monotonic
    downloads_started: int = field(default=0, init=False)  # for /metrics and the tests
    _files: OrderedDict[str, Spooled] = field(default_factory=OrderedDict, init=False, repr=False)
    _fetching: dict[str, asyncio.Task[Spooled]] = field(default_factory=dict, init=False, repr=False)
    _used: int = field(default=0, init=False, repr=False)  # bytes on disk: kept, pinned leftovers, writing
    _slots: asyncio.Semaphore | None = field(default=None, init=False, repr=False)
    _names: itertools.count[int] = field(default_factory=itertools.count, init=False, repr=False)
    _swept: float = field(default=0.0, init=False, repr=False)

    @property
    def used(self) -> int:
        return self._used

    async def open(self, media_id: str) -> Spooled:
        """The media's file, pinned until `release`: kept already, the download under way awaited, or a new
        download. MediaGone / MediaUnavailable from the source; SpoolBusy when there is no room."""
        self._sweep()
        for _ in range(3):  # a file just downloaded can be evicted before this request resumes: rare
            found = self._files.get(media_id)
            if found is not None and self.clock() - found.made < self.kept_seconds:
                self._files.move_to_end(media_id)
                found.pins += 1
                return found
            if found is not None:
                self._forget(found)
            spooled = await asyncio.shield(self._download_once(media_id))
            if spooled.kept:
                spooled.pins += 1
                self._files.move_to_end(media_id)
                return spooled
        raise SpoolBusy("the media spool is too busy to keep this file now")

    def release(self, spooled: Spooled) -> None:
        """A response is done with the file: unpinned, and removed if it was let go meanwhile."""
        spooled.pins -= 1
        if spooled.pins <= 0 and not spooled.kept:
            self._remove(spooled)

    def upload_path(self) -> Path:
        """A fresh name in the spool's folder for an agent's upload on its way to Meta (the caller removes
        it); never one FileResponse would take for a compressed twin of a media file."""
        self.directory.mkdir(parents=True, exist_ok=True)
        return self.directory / f"upload-{next(self._names)}-{time.time_ns()}.part"

    async def close(self) -> None:
        await stopped(*self._fetching.values())

    def _download_once(self, media_id: str) -> asyncio.Task[Spooled]:
        task = self._fetching.get(media_id)
        if task is not None:
            return task
        if len(self._fetching) >= self.downloads + WAITING_MOST:
            raise SpoolBusy(f"{len(self._fetching)} media downloads under way or waiting")
        task = asyncio.create_task(self._download(media_id), name=f"media-download-{media_id[:40]}")
        self._fetching[media_id] = task

        def done(finished: asyncio.Task[Spooled]) -> None:
            self._fetching.pop(media_id, None)
            if not finished.cancelled():
                finished.exception()  # seen, so a download nobody awaits any more is not "never retrieved"

        task.add_done_callback(done)
        return task

    async def _download(self, media_id: str) -> Spooled:
        if self._slots is None:
            self._slots = asyncio.Semaphore(self.downloads)
        async with self._slots:
            self.directory.mkdir(parents=True, exist_ok=True)
            digest = hashlib.sha256(media_id.encode()).hexdigest()[:32]
            path = self.directory / f"{digest}-{next(self._names)}.media"
            part = path.with_name(path.name + ".part")
            self.downloads_started += 1
            with part.open("wb") as file:
                writer = _Writer(self, file)
                try:
                    mime_type = await self.source.download(media_id, writer)
                except BaseException:
                    file.close()
                    part.unlink(missing_ok=True)
                    self._used -= writer.written
                    raise
            part.rename(path)
        spooled = Spooled(media_id, path, mime_type, writer.written, self.clock())
        self._files[media_id] = spooled
        log.info("media_spooled", media_id=media_id, bytes=spooled.size, spool_bytes=self._used)
        return spooled

    def _grow(self, size: int) -> None:
        """Room for `size` more bytes on disk: the least recently used files nobody holds go first."""
        while self._used + size > self.disk_bytes:
            victim = next((s for s in self._files.values() if s.pins == 0), None)
            if victim is None:
                raise SpoolBusy(
                    f"the media spool holds {self._used // (1024 * 1024)} MB being served or written"
                )
            self._forget(victim)
        self._used += size

    def _sweep(self) -> None:
        now = self.clock()
        if now - self._swept < SWEEP_SECONDS:
            return
        self._swept = now
        for spooled in [s for s in self._files.values() if now - s.made >= self.kept_seconds]:
            self._forget(spooled)

    def _forget(self, spooled: Spooled) -> None:
        """Out of the index; its file goes now, or with its last pin."""
        if self._files.get(spooled.media_id) is spooled:
            del self._files[spooled.media_id]
        spooled.kept = False
        if spooled.pins <= 0:
            self._remove(spooled)

    def _remove(self, spooled: Spooled) -> None:
        if spooled.path.exists():
            spooled.path.unlink(missing_ok=True)
            self._used -= spooled.size


class _Writer:
    """The sink a download writes into: each chunk counted against the largest media and the disk budget
    (which may evict older files to make room), then written to the file."""

    def __init__(self, spool: MediaSpool, file: BinaryIO) -> None:
        self.spool, self.file = spool, file
        self.written = 0

    def write(self, chunk: bytes) -> None:
        if self.written + len(chunk) > RECEIVED_MOST:
            raise MediaTooLarge(f"more than {RECEIVED_MOST // (1024 * 1024)} MB")
        self.spool._grow(len(chunk))
        self.written += len(chunk)
        self.file.write(chunk)
