"""Operators' signals: Prometheus metrics, JSON log lines, and the request id that joins a
request to the tasks it queued and to the incident id of a 500.

Every metric of the service is declared here, once; the names are what the Grafana
dashboard and the alert rules in ``docs/ops/`` use. Under gunicorn or a Celery worker with
several processes, ``PROMETHEUS_MULTIPROC_DIR`` makes each process write its counters to
that folder and a scrape adds them up (``render``).

Labels never carry personal data: routes are URL rules (``/api/persons/<uuid:person_id>``),
never paths; reasons are the engine's codes; tasks are task names.
"""

from __future__ import annotations

import contextvars
import logging
import os
import re
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

log = logging.getLogger(__name__)

# --- metrics ----------------------------------------------------------------------------------

_SECONDS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_LONG = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)

HTTP_REQUESTS = Counter(
    "lifecert_http_requests",
    "HTTP requests answered, by method, route (the URL rule) and status code.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "lifecert_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route.",
    ["method", "route"],
    buckets=_SECONDS,
)
TASKS = Counter(
    "lifecert_tasks",
    "Background tasks run, by task name and outcome (success, failure, retry).",
    ["task", "outcome"],
)
TASK_DURATION = Histogram(
    "lifecert_task_duration_seconds",
    "Time a background task ran, by task name.",
    ["task"],
    buckets=_LONG,
)
SELFSERVICE_DECISIONS = Counter(
    "lifecert_selfservice_decisions",
    "Self-service clips judged by the face engine, by decision and reason (each reason of a "
    "refusal counts once; a pass counts under reason 'none').",
    ["decision", "reason"],
)
ENGINE_STAGE = Histogram(
    "lifecert_engine_stage_seconds",
    "Face engine time per clip and stage (decode, track, points, liveness, match, total).",
    ["stage"],
    buckets=_SECONDS,
)
COMPARISON_STAGE = Histogram(
    "lifecert_comparison_stage_seconds",
    "Comparison run time per stage (export, classify, count, store, apply).",
    ["stage"],
    buckets=_LONG,
)


def now() -> float:
    return time.perf_counter()


def observe_request(method: str, route: str, status: int, started: float | None) -> None:
    with _never_in_the_way():
        HTTP_REQUESTS.labels(method, route, str(status)).inc()
        if started is not None:
            HTTP_LATENCY.labels(method, route).observe(time.perf_counter() - started)


def observe_engine(decision: str, reasons: Iterable[str], timings_ms: Mapping[str, float]) -> None:
    with _never_in_the_way():
        for reason in list(reasons) or ["none"]:
            SELFSERVICE_DECISIONS.labels(decision, reason).inc()
        for stage, ms in timings_ms.items():
            if stage != "cpu":
                ENGINE_STAGE.labels(stage).observe(ms / 1000)


@contextmanager
def _never_in_the_way() -> Iterator[None]:
    """A metric that cannot be written (a full disk under PROMETHEUS_MULTIPROC_DIR) is
    logged; the certification it measures goes on."""
    try:
        yield
    except Exception:
        log.warning("a metric could not be recorded", exc_info=True)


def observe_comparison(timings_s: Mapping[str, float]) -> None:
    """A finished run's stage times (``ComparisonRun.timings``: ``export_s``, …)."""
    with _never_in_the_way():
        for stage, seconds in timings_s.items():
            COMPARISON_STAGE.labels(stage.removesuffix("_s")).observe(seconds)


class Backlogs(Collector):
    """Gauges read when scraped: the broker's queue depth and the notice outbox. A source that
    cannot be read is left out of the scrape (and ``lifecert_backlog_up`` says which)."""

    def __init__(self, sources: Mapping[str, Callable[[], Mapping[str, int]]]) -> None:
        self.sources = sources

    def collect(self) -> Iterator[GaugeMetricFamily]:
        up = GaugeMetricFamily(
            "lifecert_backlog_up", "Whether a backlog source could be read.", labels=["source"]
        )
        for name, read in self.sources.items():
            try:
                values = read()
            except Exception:
                log.warning("backlog %s could not be read", name, exc_info=True)
                up.add_metric([name], 0)
                continue
            up.add_metric([name], 1)
            family = GaugeMetricFamily(
                f"lifecert_{name}", BACKLOG_HELP.get(name, name), labels=["state"]
            )
            for state, count in sorted(values.items()):
                family.add_metric([state], count)
            yield family
        yield up


BACKLOG_HELP = {
    "queue_depth": "Messages waiting in the task queue, by queue.",
    "notice_backlog": "Notice deliveries by state; 'unrouted' are notices not yet routed.",
    "reminder_backlog": "Reminder and overdue notices not yet out (pending, unrouted).",
}


def _every_process() -> CollectorRegistry:
    """The counters of every process sharing PROMETHEUS_MULTIPROC_DIR, added up."""
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def render(extra: Collector | None = None) -> tuple[bytes, str]:
    """The exposition text of this process (or of every process when multi-process)."""
    multi = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
    body = generate_latest(_every_process() if multi else REGISTRY)
    if extra is not None:
        own = CollectorRegistry()
        own.register(extra)
        body += generate_latest(own)
    return body, CONTENT_TYPE_LATEST


# --- the request id and log lines -----------------------------------------------------------

_request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar(
    "lifecert_request_id", default=None
)
REQUEST_ID_HEADER = "X-Request-Id"
TASK_HEADER = "lifecert_request_id"
_GOOD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{7,63}")


def new_request_id() -> str:
    return uuid.uuid4().hex


def accept_request_id(offered: str | None) -> str:
    """A proxy's request id when it looks like one (8–64 of letters, digits, ``._-``), so the
    proxy's log and ours meet; anything else is replaced (a header is not a place to inject
    text into our logs)."""
    if offered and _GOOD_ID.fullmatch(offered):
        return offered
    return new_request_id()


def current_request_id() -> str | None:
    return _request_id.get()


def bind_request_id(value: str | None) -> contextvars.Token[str | None]:
    return _request_id.set(value)


def unbind_request_id(token: contextvars.Token[str | None]) -> None:
    try:
        _request_id.reset(token)
    except ValueError:  # torn down in another context: nothing of this request is left
        _request_id.set(None)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` to every record (None outside a request or task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not hasattr(record, "request_id"):
            record.request_id = _request_id.get()
        return True


def configure_logging(level: str, fmt: str) -> None:
    """One handler on the root logger: JSON lines (``json``) for production, or plain text
    (``text``) for a person at a terminal; both carry the request id. Idempotent."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, "_lifecert", False):
            root.removeHandler(handler)
    handler = logging.StreamHandler()
    handler._lifecert = True  # type: ignore[attr-defined]
    handler.addFilter(RequestIdFilter())
    formatter: logging.Formatter
    if fmt == "json":
        formatter = json_formatter()
    else:
        formatter = logging.Formatter(
            "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
        )
    handler.setFormatter(formatter)
    root.addHandler(handler)
    root.setLevel(level)


def json_formatter() -> logging.Formatter:
    """One JSON object per line: time, level, logger, message, request id (and a traceback
    when there is one)."""
    from pythonjsonlogger.json import JsonFormatter

    return JsonFormatter(
        "{asctime}{levelname}{name}{message}{request_id}",
        style="{",
        rename_fields={"asctime": "time", "levelname": "level", "name": "logger"},
        timestamp=False,
    )


# --- Celery ------------------------------------------------------------------------------------

_connected = False


def instrument_celery(log_level: str, log_format: str, metrics_port: int | None = None) -> None:
    """Task metrics, the request id carried in each task's headers, and the service's log
    format in worker processes; with ``metrics_port``, a worker serves its metrics there
    (every pool process's, through PROMETHEUS_MULTIPROC_DIR). Celery's signals are
    process-wide: connected once."""
    global _connected
    if _connected:
        return
    _connected = True
    from celery import signals

    started: dict[str, float] = {}
    tokens: dict[str, contextvars.Token[str | None]] = {}

    def publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
        rid = _request_id.get()
        if headers is not None and rid and TASK_HEADER not in headers:
            headers[TASK_HEADER] = rid

    def prerun(task_id: str = "", task: Any = None, **_: Any) -> None:
        started[task_id] = time.perf_counter()
        rid = None
        if task is not None and not task.request.is_eager:
            rid = task.request.get(TASK_HEADER) or f"task-{task_id}"
            tokens[task_id] = _request_id.set(rid)

    def postrun(task_id: str = "", task: Any = None, state: str | None = None, **_: Any) -> None:
        began = started.pop(task_id, None)
        name = getattr(task, "name", "unknown")
        with _never_in_the_way():
            if began is not None:
                TASK_DURATION.labels(name).observe(time.perf_counter() - began)
            outcome = {"SUCCESS": "success", "RETRY": "retry"}.get(state or "", "failure")
            TASKS.labels(name, outcome).inc()
        token = tokens.pop(task_id, None)
        if token is not None:
            _request_id.reset(token)

    def setup_logging(**_: Any) -> None:
        configure_logging(log_level, log_format)

    def worker_init(**_: Any) -> None:
        if metrics_port is None:
            return
        folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
        if not folder:
            raise RuntimeError(
                "LIFECERT_WORKER_METRICS_PORT needs PROMETHEUS_MULTIPROC_DIR (an empty folder "
                "of this worker's): its tasks run in child processes."
            )
        Path(folder).mkdir(parents=True, exist_ok=True)
        for stale in Path(folder).glob("*.db"):  # a previous run's counters
            stale.unlink()
        start_http_server(metrics_port, registry=_every_process())

    def process_shutdown(pid: int | None = None, **_: Any) -> None:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]

    signals.before_task_publish.connect(publish, weak=False)
    signals.task_prerun.connect(prerun, weak=False)
    signals.task_postrun.connect(postrun, weak=False)
    signals.setup_logging.connect(setup_logging, weak=False)
    signals.worker_init.connect(worker_init, weak=False)
    signals.worker_process_shutdown.connect(process_shutdown, weak=False)
