"""Reading ahead on a thread: the next blocks of a file are read and checked while the
database stores the current one (checking is Arrow and NumPy, which let go of the GIL; the
caller mostly waits on its database connection)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from queue import Full, Queue
from typing import Any, TypeVar

T = TypeVar("T")
_POLL_S = 0.1


def read_ahead(items: Iterator[T], depth: int = 2) -> Iterator[T]:
    """What ``items`` yields, in order, produced on a thread at most ``depth`` items ahead
    (memory stays bounded). An exception in ``items`` is raised here, at its place in the
    order; stopping early (``close``, an exception in the caller) stops the thread."""
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def put(message: tuple[str, Any]) -> bool:
        while not stop.is_set():
            try:
                queue.put(message, timeout=_POLL_S)
                return True
            except Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not put(("item", item)):
                    return
        except BaseException as err:  # noqa: BLE001 - handed to the reader, raised there
            put(("error", err))
            return
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()
        put(("end", None))

    thread = threading.Thread(target=produce, name="read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = queue.get()
            if kind == "item":
                yield value
            elif kind == "error":
                raise value
            else:
                return
    finally:
        stop.set()
        thread.join()
