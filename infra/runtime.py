"""The runtime: the wired parts one process shares (database, clock, rules, adapters).

Built once per process by the composition root (``lifecert.bootstrap.build_runtime``); the
API, the console and the worker's tasks take it as given and import nothing above them.
Each runtime owns its Celery app, so two runtimes in one process (tests, the embedded mode
beside a broker) never reconfigure each other.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any
from uuid import UUID

from sqlalchemy.engine import Engine as DatabaseEngine
from sqlalchemy.orm import Session, sessionmaker

from certification.notices import Channel, DeliveryPolicy
from certification.ports import (
    ComparisonEngine,
    Documents,
    FaceEngine,
    IdentityProvider,
    NationalTransport,
    NoticeChannel,
    ReceiptSigner,
    TaskQueue,
)
from certification.selfservice import ChallengePolicy, FixedChallengePolicy
from certification.services.context import ProcedureConfig, UseCaseContext
from certification.services.runs import RunContextFactory, apply_shard, execute_run
from certification.services.selfservice import SelfServiceConfig
from certification.services.signin import CodePolicy
from certification.verification import ComparisonRun
from infra.adapters import PyOtpTotp, SystemClock, WerkzeugPasswordHasher
from infra.ratelimit import FailureCounter
from infra.settings import Settings
from infra.sms import SmsSenderType
from storage.objects import LocalObjectStore, ObjectStore, S3ObjectStore
from storage.uow import SqlUnitOfWork

if TYPE_CHECKING:
    from flask_limiter import Limiter


@dataclass
class Runtime:
    settings: Settings
    database: DatabaseEngine
    session_factory: sessionmaker[Session]
    clock: SystemClock
    procedure: ProcedureConfig
    passwords: WerkzeugPasswordHasher
    sms: SmsSenderType
    totp: PyOtpTotp
    queue_app: Any  # this runtime's Celery app (worker.celery_app.make_celery)
    face_engine_factory: Callable[[Settings], FaceEngine]
    # the web app's request-rate limits (api/limits.py), made by the composition root and
    # bound to the app when it is created
    limiter: Limiter
    identity_providers: dict[str, IdentityProvider] = field(default_factory=dict)
    login_failures: FailureCounter = field(default_factory=FailureCounter)
    code_policy: CodePolicy = field(default_factory=CodePolicy)
    _object_store: ObjectStore | None = None
    _face_engine: FaceEngine | None = None
    _face_engine_lock: threading.Lock = field(default_factory=threading.Lock)
    selfservice_override: SelfServiceConfig | None = None
    _signer: ReceiptSigner | None = None
    _notice_channels: dict[Channel, NoticeChannel] | None = None

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.session_factory)

    @contextmanager
    def use_case(self) -> Iterator[UseCaseContext]:
        """An open unit of work with the clock and rules: ``with runtime.use_case() as ctx:``."""
        with self.uow() as uow:
            yield self.context(uow)

    def context(self, uow: SqlUnitOfWork) -> UseCaseContext:
        """A use-case context over an open unit of work, with this runtime's clock, rules and
        receipt signer."""
        return UseCaseContext(uow=uow, clock=self.clock, config=self.procedure, signer=self.signer)

    @property
    def object_store(self) -> ObjectStore:
        if self._object_store is None:
            self._object_store = build_object_store(self.settings)
        return self._object_store

    @property
    def face_engine(self) -> FaceEngine:
        """The face engine (all models loaded), built on first use: a worker loads the models
        once; an API process that never verifies a clip never loads them."""
        if self._face_engine is None:
            with self._face_engine_lock:
                if self._face_engine is None:
                    self._face_engine = self.face_engine_factory(self.settings)
        return self._face_engine

    def use_face_engine(self, engine: FaceEngine) -> None:
        """Share an engine that is already loaded (tests, several runtimes in one process)."""
        self._face_engine = engine

    @property
    def task_queue(self) -> TaskQueue:
        from infra.selfservice_adapters import CeleryTaskQueue

        return CeleryTaskQueue(self.queue_app)

    @property
    def signer(self) -> ReceiptSigner:
        """The receipt signer: the configured key, or in development a key file made on
        first use under the data folder."""
        if self._signer is None:
            from infra.documents import Ed25519Signer

            s = self.settings
            earlier = [k for k in s.receipt_earlier_public_keys.split(",") if k.strip()]
            if s.receipt_signing_key is not None:
                self._signer = Ed25519Signer.from_seed(
                    s.receipt_signing_key.get_secret_value(), earlier
                )
            else:
                self._signer = Ed25519Signer.from_file(s.resolved_receipt_key_file, earlier)
        return self._signer

    @property
    def documents(self) -> Documents:
        from infra.documents import PdfDocuments

        return PdfDocuments()

    @property
    def notice_channels(self) -> dict[Channel, NoticeChannel]:
        """Every channel this deployment can send on (letters are printed, not sent)."""
        if self._notice_channels is None:
            from infra.notice_channels import LoggingPush, SmsChannel, WeChatSubscribeChannel

            s = self.settings
            channels: dict[Channel, NoticeChannel] = {
                Channel.SMS: SmsChannel(self.sms, s.notice_sms_templates),
                Channel.PUSH: LoggingPush(),
            }
            if s.wechat_appid and s.wechat_secret:
                channels[Channel.WECHAT] = WeChatSubscribeChannel(
                    s.wechat_appid,
                    s.wechat_secret.get_secret_value(),
                    s.notice_wechat_templates,
                    api_base=s.wechat_api_base,
                    page=s.notice_wechat_page,
                    state=s.notice_wechat_state,
                )
            self._notice_channels = channels
        return self._notice_channels

    def use_notice_channels(self, channels: dict[Channel, NoticeChannel]) -> None:
        """Channels made elsewhere (tests with stand-in providers, the benchmark)."""
        self._notice_channels = channels

    @property
    def delivery_policy(self) -> DeliveryPolicy:
        s = self.settings
        quiet_from, quiet_until = s.quiet_hours
        return DeliveryPolicy(
            max_failures=s.notice_max_failures,
            max_age=timedelta(days=s.notice_max_age_days),
            quiet_from=quiet_from,
            quiet_until=quiet_until,
            timezone=s.timezone,
        )

    @property
    def comparison_engine(self) -> ComparisonEngine:
        from storage.comparison_engine import DuckDBComparisonEngine, EngineLimits

        workdir = self.settings.resolved_comparison_workdir
        workdir.mkdir(parents=True, exist_ok=True)
        return DuckDBComparisonEngine(
            EngineLimits(
                threads=self.settings.comparison_threads,
                memory_limit=self.settings.comparison_memory_limit,
                temp_directory=str(workdir / "spill"),
            )
        )

    @property
    def national_transport(self) -> NationalTransport:
        from infra.national import HttpTransport, OutboxTransport

        s = self.settings
        if s.national_transport == "http":
            assert s.national_upload_url
            token = s.national_upload_token.get_secret_value() if s.national_upload_token else None
            return HttpTransport(s.national_upload_url, token)
        return OutboxTransport(s.resolved_national_outbox)

    def run_contexts(self) -> RunContextFactory:
        """Fresh use-case contexts, one per transaction of a long job (comparison runs)."""
        return RunContextFactory(self.uow, self.clock, self.procedure)

    def execute_comparison(self, run_id: UUID) -> ComparisonRun:
        """Classify a queued comparison run with this runtime's engine and folders, and
        apply its lists: a shard per district, handed to the workers through the broker, or
        with no broker (the embedded mode) applied here in turn. The run is returned applied,
        or running while the workers apply its shards."""
        from infra.telemetry import observe_comparison

        run = execute_run(
            self.run_contexts(),
            self.comparison_engine,
            run_id,
            workdir=self.settings.resolved_comparison_workdir,
            shards=None if self.queue_app.conf.task_always_eager else self.task_queue,
        )
        if run.finished:
            observe_comparison(run.timings or {})
        return run

    def apply_comparison_shard(self, run_id: UUID, district_code: str) -> ComparisonRun | None:
        """Apply one district's part of a run's lists (a worker's task); the run is
        returned, applied when this was the last shard (None: the shard was already done)."""
        from infra.telemetry import observe_comparison

        run = apply_shard(self.run_contexts(), run_id, district_code)
        if run is not None and run.finished:
            observe_comparison(run.timings or {})
        return run

    @property
    def selfservice(self) -> SelfServiceConfig:
        return self.selfservice_override or selfservice_config(self.settings)

    def close(self) -> None:
        self.database.dispose()


def build_object_store(settings: Settings) -> ObjectStore:
    if settings.object_store == "s3":
        assert settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key
        return S3ObjectStore(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
            public_endpoint=settings.s3_public_endpoint,
            public_secure=settings.s3_public_secure,
        )
    return LocalObjectStore(settings.resolved_objects_dir)


def selfservice_config(settings: Settings) -> SelfServiceConfig:
    from biometrics.config import MatchConfig

    match = MatchConfig()
    policy = ChallengePolicy()
    if settings.selfservice_fixed_challenge:
        wanted = settings.selfservice_fixed_challenge.split(",")
        actions = tuple(a.strip() for a in wanted if a.strip())
        policy = FixedChallengePolicy(actions=actions)
    return SelfServiceConfig(
        policy=policy,
        max_video_bytes=settings.selfservice_max_video_mb * 1024 * 1024,
        match_model=match.model,
        match_threshold=match.threshold,
        claim_timeout=timedelta(seconds=settings.selfservice_claim_timeout_s),
    )
