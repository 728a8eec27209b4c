"""Wires the service once per process: settings → engine, unit of work, object store, adapters."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from uuid import UUID

from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session, sessionmaker

from certification.periods import PeriodPolicy
from certification.ports import (
    ComparisonEngine,
    IdentityProvider,
    NationalTransport,
    Notifier,
    TaskQueue,
)
from certification.selfservice import ChallengePolicy, FixedChallengePolicy
from certification.services.comparison import RunContextFactory, execute_run
from certification.services.context import ProcedureConfig, UseCaseContext
from certification.services.selfservice import SelfServiceConfig
from certification.services.signin import CodePolicy
from certification.verification import ComparisonRun
from lifecert.adapters import (
    DevelopmentIdentityProvider,
    PyOtpTotp,
    SystemClock,
    WeChatMiniProgramProvider,
    WerkzeugPasswordHasher,
)
from lifecert.ratelimit import FailureCounter, RateLimiter
from lifecert.settings import Settings
from lifecert.sms import AliyunSms, LoggingSms, SmsSenderType, TencentSms
from storage.db import make_engine, make_session_factory
from storage.objects import LocalObjectStore, ObjectStore, S3ObjectStore
from storage.uow import SqlUnitOfWork

if TYPE_CHECKING:
    from biometrics.engine import Engine


@dataclass
class Runtime:
    settings: Settings
    engine: Engine
    session_factory: sessionmaker[Session]
    clock: SystemClock
    procedure: ProcedureConfig
    passwords: WerkzeugPasswordHasher
    sms: SmsSenderType
    totp: PyOtpTotp
    identity_providers: dict[str, IdentityProvider] = field(default_factory=dict)
    login_failures: FailureCounter = field(default_factory=FailureCounter)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    code_policy: CodePolicy = field(default_factory=CodePolicy)
    _object_store: ObjectStore | None = None
    selfservice_override: SelfServiceConfig | None = None

    def uow(self) -> SqlUnitOfWork:
        return SqlUnitOfWork(self.session_factory)

    @contextmanager
    def use_case(self) -> Iterator[UseCaseContext]:
        """An open unit of work with the clock and rules: ``with runtime.use_case() as ctx:``."""
        with self.uow() as uow:
            yield UseCaseContext(uow=uow, clock=self.clock, config=self.procedure)

    @property
    def object_store(self) -> ObjectStore:
        if self._object_store is None:
            self._object_store = build_object_store(self.settings)
        return self._object_store

    @property
    def task_queue(self) -> TaskQueue:
        from lifecert.selfservice_adapters import CeleryTaskQueue
        from worker.celery_app import celery_app

        return CeleryTaskQueue(celery_app)

    @property
    def notifier(self) -> Notifier:
        from lifecert.selfservice_adapters import LoggingNotifier

        return LoggingNotifier()

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
        from lifecert.national import HttpTransport, OutboxTransport

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
        """Classify and apply a queued comparison run with this runtime's engine and folders."""
        return execute_run(
            self.run_contexts(),
            self.comparison_engine,
            run_id,
            workdir=self.settings.resolved_comparison_workdir,
        )

    @property
    def selfservice(self) -> SelfServiceConfig:
        return self.selfservice_override or selfservice_config(self.settings)

    def close(self) -> None:
        self.engine.dispose()


def build_object_store(settings: Settings) -> ObjectStore:
    if settings.object_store == "s3":
        assert settings.s3_endpoint and settings.s3_access_key and settings.s3_secret_key
        store = S3ObjectStore(
            endpoint=settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key.get_secret_value(),
            bucket=settings.s3_bucket,
            secure=settings.s3_secure,
            region=settings.s3_region,
            public_endpoint=settings.s3_public_endpoint,
            public_secure=settings.s3_public_secure,
        )
        return store
    return LocalObjectStore(settings.resolved_objects_dir)


def build_engine(settings: Settings) -> Engine:
    """The biometrics engine with the model directory and ONNX Runtime options from settings."""
    from biometrics.engine import Engine
    from models.store import ModelStore, RuntimeOptions

    options = RuntimeOptions(
        providers=tuple(p.strip() for p in settings.onnx_providers.split(",") if p.strip()),
        intra_op_threads=settings.onnx_threads,
        batch_intra_op_threads=settings.onnx_threads,
    )
    return Engine(ModelStore.open(settings.resolved_model_dir, options))


def selfservice_config(settings: Settings) -> SelfServiceConfig:
    from datetime import timedelta

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


def build_sms(settings: Settings) -> SmsSenderType:
    """The text-message sender the settings name (production refuses the logging one)."""
    secret = settings.sms_access_key_secret
    if settings.sms_provider == "aliyun":
        assert settings.sms_access_key_id and secret
        assert settings.sms_sign_name and settings.sms_template_code
        return AliyunSms(
            settings.sms_access_key_id,
            secret.get_secret_value(),
            settings.sms_sign_name,
            settings.sms_template_code,
            **({"endpoint": settings.sms_endpoint} if settings.sms_endpoint else {}),
        )
    if settings.sms_provider == "tencent":
        assert settings.sms_access_key_id and secret and settings.sms_sdk_app_id
        assert settings.sms_sign_name and settings.sms_template_code
        return TencentSms(
            settings.sms_access_key_id,
            secret.get_secret_value(),
            settings.sms_sdk_app_id,
            settings.sms_sign_name,
            settings.sms_template_code,
            region=settings.sms_region,
            **({"endpoint": settings.sms_endpoint} if settings.sms_endpoint else {}),
        )
    return LoggingSms()


def build_runtime(settings: Settings) -> Runtime:
    engine = make_engine(settings.resolved_database_url, pool_size=settings.db_pool_size)
    providers: dict[str, IdentityProvider] = {}
    if settings.dev_identity_enabled:
        providers["dev"] = DevelopmentIdentityProvider()
    if settings.wechat_appid and settings.wechat_secret:
        providers["wechat"] = WeChatMiniProgramProvider(
            settings.wechat_appid,
            settings.wechat_secret.get_secret_value(),
            settings.wechat_api_base,
        )
    failures = FailureCounter()
    failures.use_redis(settings.shared_redis_url)
    limiter = RateLimiter()
    limiter.use_redis(settings.shared_redis_url)
    return Runtime(
        settings=settings,
        engine=engine,
        session_factory=make_session_factory(engine),
        clock=SystemClock(settings.timezone),
        procedure=ProcedureConfig(
            period=PeriodPolicy(
                period_months=settings.period_months,
                dependant_exempt_below_age=settings.dependant_exempt_below_age,
            ),
            min_contact_channels=settings.min_contact_channels,
            auto_suspend_kinds=settings.auto_suspend_kinds,
        ),
        passwords=WerkzeugPasswordHasher(),
        sms=build_sms(settings),
        totp=PyOtpTotp(settings.totp_issuer),
        identity_providers=providers,
        login_failures=failures,
        limiter=limiter,
    )
