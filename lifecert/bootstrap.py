"""The composition root: settings → the runtime with its adapters, its Celery app and, when
asked for, the face engine. The API, the console, the worker and the CLI are all built from
here; nothing below imports this module."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from certification.comparison import WindowReading
from certification.periods import PeriodPolicy
from certification.ports import FaceEngine, IdentityProvider
from certification.services.context import ProcedureConfig
from infra.adapters import (
    DevelopmentIdentityProvider,
    PyOtpTotp,
    SystemClock,
    WeChatMiniProgramProvider,
    WerkzeugPasswordHasher,
)
from infra.ratelimit import FailureCounter
from infra.runtime import Runtime
from infra.settings import Settings
from infra.sms import AliyunSms, LoggingSms, SmsSenderType, TencentSms
from storage import crypto
from storage.db import make_engine, make_session_factory
from worker.celery_app import attach, make_celery

if TYPE_CHECKING:
    from biometrics.engine import Engine


def _providers(settings: Settings) -> tuple[str, ...]:
    return tuple(p.strip() for p in settings.onnx_providers.split(",") if p.strip())


def build_engine(settings: Settings) -> Engine:
    """The biometrics engine with the model directory and ONNX Runtime options from settings."""
    return _engine(str(settings.resolved_model_dir), _providers(settings), settings.onnx_threads)


def _engine(model_dir: str, providers: tuple[str, ...], threads: int) -> Engine:
    from biometrics.engine import Engine
    from models.store import ModelStore, RuntimeOptions

    options = RuntimeOptions(
        providers=providers, intra_op_threads=threads, batch_intra_op_threads=threads
    )
    return Engine(ModelStore.open(Path(model_dir), options))


def build_face_engine(settings: Settings) -> FaceEngine:
    """The face-engine port over the biometrics engine, warmed up (all models loaded): one per
    process and model configuration, whatever the number of runtimes (the models are read-only
    and the engine serves concurrent clips)."""
    return _face_engine(
        str(settings.resolved_model_dir), _providers(settings), settings.onnx_threads
    )


@lru_cache(maxsize=4)
def _face_engine(model_dir: str, providers: tuple[str, ...], threads: int) -> FaceEngine:
    from infra.selfservice_adapters import BiometricFaceEngine

    engine = _engine(model_dir, providers, threads)
    engine.warm_up()
    return BiometricFaceEngine(engine)


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
            endpoint=settings.sms_endpoint,
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
            endpoint=settings.sms_endpoint,
        )
    return LoggingSms()


class SettingsKeys:
    """The key provider (storage.crypto.KeyProvider) of the settings: environment variables
    in production, files made in the data directory in development. A KMS client would
    take its place here."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def template_keys(self) -> crypto.KeyRing:
        return crypto.KeyRing.parse(self.settings.template_key_spec)

    def personal_keys(self) -> crypto.KeyRing:
        return crypto.KeyRing.parse(self.settings.data_key_spec)

    def index_key(self) -> bytes:
        return crypto.parse_key(self.settings.index_key_spec)


def build_runtime(settings: Settings) -> Runtime:
    crypto.install(SettingsKeys(settings))
    database = make_engine(settings.resolved_database_url, pool_size=settings.db_pool_size)
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
    from api.limits import make_limiter

    limiter = make_limiter(settings)
    runtime = Runtime(
        settings=settings,
        database=database,
        session_factory=make_session_factory(database),
        clock=SystemClock(settings.timezone),
        procedure=ProcedureConfig(
            period=PeriodPolicy(
                period_months=settings.period_months,
                dependant_exempt_below_age=settings.dependant_exempt_below_age,
            ),
            min_contact_channels=settings.min_contact_channels,
            auto_suspend_kinds=settings.auto_suspend_kinds,
            auto_suspend_expired_districts=settings.auto_suspend_expired_districts,
            comparison_window=WindowReading(settings.comparison_window),
            appeal_working_days=settings.appeal_working_days,
            working_days=settings.working_days,
        ),
        passwords=WerkzeugPasswordHasher(),
        sms=build_sms(settings),
        totp=PyOtpTotp(settings.totp_issuer),
        queue_app=make_celery(settings),
        face_engine_factory=build_face_engine,
        identity_providers=providers,
        login_failures=failures,
        limiter=limiter,
    )
    attach(runtime.queue_app, runtime)
    return runtime
