"""Readiness: can this process do its work now? The database, the object store and the broker
answer, and the face models on disk are the ones the registry names (sha256). Liveness
(``/healthz``) asks none of this: a process that is alive but waiting for its database is
taken out of the load balancer, not restarted."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from storage.db import ping

if TYPE_CHECKING:
    from infra.runtime import Runtime


@dataclass
class ModelCheck:
    """The models' sha256, read once per process and again only when a file changes (size
    or modification time): hashing 100 MB on every probe would be a load of its own."""

    folder: Path
    _seen: dict[str, tuple[int, int]] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def problems(self) -> list[str]:
        from biometrics.config import EngineConfig
        from models.registry import ModelRegistry
        from models.store import file_sha256

        registry = ModelRegistry.with_packs(self.folder)
        with self._lock:
            found: list[str] = []
            for name in EngineConfig().models_used():
                spec = registry.get(name)
                path = self.folder / spec.file
                try:
                    stat = path.stat()
                except OSError:
                    found.append(f"{spec.name} missing")
                    continue
                stamp = (stat.st_size, stat.st_mtime_ns)
                if self._seen.get(spec.name) == stamp:
                    continue
                if file_sha256(path) != spec.sha256:
                    found.append(f"{spec.name} altered (sha256 differs)")
                    self._seen.pop(spec.name, None)
                else:
                    self._seen[spec.name] = stamp
            return found


_checks: dict[Path, ModelCheck] = {}


def model_check(folder: Path) -> ModelCheck:
    return _checks.setdefault(folder, ModelCheck(folder))


def check(runtime: Runtime) -> dict[str, str]:
    """Each dependency: "ok", or why not (the exception's kind, never a secret)."""
    result: dict[str, str] = {}
    try:
        ping(runtime.database)
        result["database"] = "ok"
    except Exception as err:  # noqa: BLE001 - any failure means unreachable
        result["database"] = f"unreachable: {type(err).__name__}"
    try:
        runtime.object_store.ping()
        result["object_store"] = "ok"
    except Exception as err:  # noqa: BLE001
        result["object_store"] = f"unreachable: {type(err).__name__}"
    result["broker"] = _broker(runtime)
    try:
        problems = model_check(runtime.settings.resolved_model_dir).problems()
        result["models"] = "ok" if not problems else "; ".join(problems)
    except Exception as err:  # noqa: BLE001
        result["models"] = f"unreadable: {type(err).__name__}"
    return result


def _broker(runtime: Runtime) -> str:
    if not runtime.settings.broker_url:
        return "ok"  # the embedded mode: tasks run in this process
    try:
        with runtime.queue_app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
        return "ok"
    except Exception as err:  # noqa: BLE001
        return f"unreachable: {type(err).__name__}"


def queue_depth(runtime: Runtime) -> dict[str, int]:
    """Messages waiting in the default task queue (the gauge ``lifecert_queue_depth``)."""
    if not runtime.settings.broker_url:
        return {}
    app = runtime.queue_app
    name = app.conf.task_default_queue or "celery"
    from amqp.exceptions import ChannelError  # type: ignore[import-untyped]

    with app.connection_for_read() as conn:
        conn.ensure_connection(max_retries=1, timeout=2)
        try:
            declared = conn.default_channel.queue_declare(queue=name, passive=True)
        except ChannelError as err:
            if "404" in (str(err.code), str(err.reply_code)):  # Redis keeps no empty queue
                return {name: 0}
            raise
        return {name: int(declared.message_count)}
