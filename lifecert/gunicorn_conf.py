"""gunicorn's settings for the image:
``gunicorn -c python:lifecert.gunicorn_conf lifecert.wsgi:app``.

Several worker processes each count requests; with PROMETHEUS_MULTIPROC_DIR set, every
process writes its counters there and ``/metrics`` adds them up. The folder is emptied when
the server starts (counters of a previous container run must not be added again), and a
worker that exits is marked dead so that its gauges stop counting.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

bind = f"{os.environ.get('LIFECERT_HOST', '0.0.0.0')}:{os.environ.get('LIFECERT_PORT', '8000')}"  # noqa: S104 - in a container
workers = int(os.environ.get("LIFECERT_WEB_PROCESSES", "4"))
threads = int(os.environ.get("LIFECERT_WEB_THREADS", "8"))
timeout = 60
# JSON lines from the service's own logger (LIFECERT_LOG_FORMAT=json); gunicorn's access
# log would repeat each request without its request id, so it stays off.
accesslog = None
errorlog = "-"


def on_starting(server: Any) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
