"""Adapters for the self-service ports: the biometrics engine and Celery."""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any
from uuid import UUID

from certification.ports import FaceEnrolment, FaceVerification, QueueUnavailable, TemplatesOutdated
from certification.texts import chinese
from infra.telemetry import observe_engine

log = logging.getLogger(__name__)


class BiometricFaceEngine:
    """certification.ports.FaceEngine over biometrics.engine.Engine."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    @property
    def model(self) -> str:
        return str(self.engine.config.match.model)

    def verify(
        self,
        video_path: str,
        actions: Sequence[str],
        templates: Sequence[dict[str, Any]],
        *,
        mirrored: bool,
    ) -> FaceVerification:
        from biometrics.errors import TemplateMismatch
        from biometrics.recognition import Template

        parsed = [Template.from_dict(t) for t in templates]
        try:
            verdict = self.engine.verify(video_path, list(actions), parsed, mirrored=mirrored)
        except TemplateMismatch as err:
            raise TemplatesOutdated(str(err)) from err
        observe_engine(verdict.decision, verdict.reasons, verdict.timings_ms)
        body = verdict.to_json()
        for told in body.get("reasons", []):  # the Chinese from the service's catalogue
            told["zh"] = chinese(told["en"], "reason")
        refresh = None
        if verdict.decision == "pass" and verdict.best_embedding is not None and parsed:
            refresh = Template(
                model=parsed[0].model,
                model_version=parsed[0].model_version,
                vector=verdict.best_embedding,
                source="verified_frame",
            ).to_dict()
        return FaceVerification(
            decision=verdict.decision,
            reasons=list(verdict.reasons),
            verdict=body,
            match_score=verdict.scores.get("face_match"),
            evidence_jpegs=[e.jpeg for e in verdict.evidence],
            refresh_template=refresh,
        )

    def enrol(self, photo: bytes) -> FaceEnrolment:
        from biometrics.errors import InputRejected

        try:
            enrolment = self.engine.enrol(photo)
        except InputRejected as err:
            return FaceEnrolment(False, None, None, None, err.reason.code, err.detail)
        template = enrolment.template
        return FaceEnrolment(True, template.to_dict(), template.model, template.model_version, None)


class CeleryTaskQueue:
    """Named tasks on the broker; in-process when no broker is configured (the embedded mode)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def _send(self, name: str, args: list[str]) -> None:
        if self.app.conf.task_always_eager:
            if name not in self.app.tasks:
                self.app.loader.import_default_modules()  # the API process imports no tasks
            self.app.tasks[name].apply(args=args)
            return
        try:
            self.app.send_task(
                name,
                args=args,
                retry=True,
                retry_policy={
                    "max_retries": 2,
                    "interval_start": 0.1,
                    "interval_step": 0.3,
                    "interval_max": 1.0,
                },
            )
        except Exception as err:  # kombu raises several connection errors; all mean the same here
            raise QueueUnavailable(f"the task queue is unreachable: {err}") from err

    def enqueue_attempt(self, attempt_id: UUID) -> None:
        self._send("lifecert.selfservice.process_attempt", [str(attempt_id)])

    def enqueue_enrolment(self, request_id: UUID) -> None:
        self._send("lifecert.selfservice.compute_template", [str(request_id)])

    def enqueue_comparison(self, run_id: UUID) -> None:
        self._send_long("lifecert.comparison.execute_run", str(run_id))

    def enqueue_comparison_shard(self, run_id: UUID, district_code: str) -> None:
        self._send("lifecert.comparison.apply_shard", [str(run_id), district_code])

    def enqueue_feed_import(self, import_id: UUID) -> None:
        self._send_long("lifecert.feeds.import", str(import_id))

    def _send_long(self, name: str, arg: str) -> None:
        """Long jobs: in the embedded mode they run in a background thread so the request
        returns at once and the progress can be watched."""
        run_id = arg
        if self.app.conf.task_always_eager:
            if name not in self.app.tasks:
                self.app.loader.import_default_modules()
            task = self.app.tasks[name]
            threading.Thread(
                target=_run_logged,
                args=(task, str(run_id)),
                name=f"comparison-{run_id}",
                daemon=True,
            ).start()
            return
        self._send(name, [str(run_id)])


def _run_logged(task: Any, run_id: str) -> None:
    try:
        task.apply(args=[run_id], throw=True)
    except Exception:  # the run is marked failed with the reason; keep the thread quiet
        log.exception("comparison run %s failed", run_id)
