"""Status streams (server-sent events) hold a server thread each, so they are rationed: at
most ``limit`` open in this process, one per account (a new one from the same account takes
over and the old one ends), each for a bounded time, with a heartbeat every second so a
closed client is noticed at the next write and its thread freed."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from uuid import UUID


class StreamsFull(Exception):
    """Every stream slot is taken; the caller polls instead or retries later."""


class StreamGate:
    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._lock = threading.Lock()
        self._open: dict[UUID, threading.Event] = {}

    @property
    def open_count(self) -> int:
        with self._lock:
            return len(self._open)

    @contextmanager
    def slot(self, account_id: UUID) -> Iterator[threading.Event]:
        """A slot for the account's stream; the event is set when it must stop (taken over)."""
        stop = threading.Event()
        with self._lock:
            previous = self._open.get(account_id)
            if previous is None and len(self._open) >= self.limit:
                raise StreamsFull()
            if previous is not None:
                previous.set()  # the account's older stream ends
            self._open[account_id] = stop
        try:
            yield stop
        finally:
            with self._lock:
                if self._open.get(account_id) is stop:
                    del self._open[account_id]
