"""Blocks read ahead on a thread come in order, an error comes at its place, memory stays
bounded, and a reader that stops early leaves no thread behind."""

import threading
import time
from collections.abc import Iterator

import pytest

from storage.read_ahead import read_ahead


def _threads() -> int:
    return sum(1 for t in threading.enumerate() if t.name == "read-ahead")


def test_in_order_and_done() -> None:
    assert list(read_ahead(iter(range(1000)), depth=3)) == list(range(1000))
    assert _threads() == 0


def test_an_error_comes_after_the_items_before_it() -> None:
    def blocks() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("the file changed")

    got: list[int] = []
    with pytest.raises(ValueError, match="the file changed"):
        for item in read_ahead(blocks()):
            got.append(item)
    assert got == [1, 2] and _threads() == 0


def test_at_most_depth_ahead_and_stopping_early_stops_the_thread() -> None:
    made: list[int] = []
    closed = threading.Event()

    def blocks() -> Iterator[int]:
        try:
            for n in range(10_000):
                made.append(n)
                yield n
        finally:
            closed.set()

    reader = read_ahead(blocks(), depth=2)
    assert next(reader) == 0
    time.sleep(0.3)  # the thread fills the queue, then waits
    assert len(made) <= 4  # the one read, two queued, one waiting to be queued
    reader.close()
    assert closed.wait(5) and _threads() == 0
    assert len(made) <= 5
