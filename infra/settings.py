"""Settings from environment variables prefixed ``LIFECERT_``, with safe embedded defaults.

With nothing set, the service runs on a SQLite file and a local object folder
under ``LIFECERT_DATA_DIR`` (./var), processes background work in-process,
and generates its own token-signing key on first start (kept in the data
directory, readable by the owner only). Production sets
``LIFECERT_ENVIRONMENT=production`` and must then provide the key, a database
URL, an object store and a broker explicitly.
"""

from __future__ import annotations

import secrets
from datetime import date, time
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import Field, SecretStr, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from storage.crypto import generated_secret_file

if TYPE_CHECKING:
    from certification.calendar import WorkingCalendar
    from certification.supervision import RewardScale

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class SettingsError(RuntimeError):
    pass


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="LIFECERT_", extra="ignore")

    environment: Literal["development", "production"] = "development"
    data_dir: Path = Path("var")

    # Persistence
    database_url: str | None = None
    db_pool_size: int = 10

    # Objects (evidence): "local" folder or "s3" (MinIO)
    object_store: Literal["local", "s3"] = "local"
    objects_dir: Path | None = None
    s3_endpoint: str | None = None  # host:port
    s3_access_key: str | None = None
    s3_secret_key: SecretStr | None = None
    s3_bucket: str = "lifecert-evidence"
    s3_secure: bool = True
    s3_region: str | None = None
    s3_public_endpoint: str | None = None  # host:port phones use, when not s3_endpoint
    s3_public_secure: bool | None = None

    # Background work: empty = in-process; otherwise a Celery broker (redis:// or amqp://)
    broker_url: str | None = None
    result_backend: str | None = None
    # seconds before a task a dead worker held is delivered again (Redis broker)
    task_visibility_timeout: int = Field(default=300, ge=10, le=86400)

    # Tokens
    secret_key: SecretStr | None = None
    access_token_minutes: int = Field(default=15, ge=1, le=24 * 60)
    refresh_token_days: int = Field(default=30, ge=1, le=365)
    staff_refresh_token_hours: int = Field(default=12, ge=1, le=24 * 7)
    token_issuer: str = "lifecert"  # noqa: S105 - an issuer name, not a secret

    # The demo (``lifecert serve --demo``): demo data, the development identity provider and
    # text messages written to the log (the capture page shows the demo code). Refused in
    # production.
    demo: bool = False

    # Mobile identity providers
    dev_identity_provider: bool | None = None  # default: on in the demo only; never production
    wechat_appid: str | None = None
    wechat_secret: SecretStr | None = None
    wechat_api_base: str = "https://api.weixin.qq.com"

    # Sign-in codes by text message: "log" (demo and development), "aliyun" or "tencent"
    sms_provider: Literal["log", "aliyun", "tencent"] = "log"
    sms_access_key_id: str | None = None  # Alibaba Cloud AccessKey id / Tencent SecretId
    sms_access_key_secret: SecretStr | None = None  # ...and its secret / SecretKey
    sms_sign_name: str | None = None  # the approved signature, e.g. 重庆社保
    sms_template_code: str | None = None  # the approved template with one parameter: the code
    sms_sdk_app_id: str | None = None  # Tencent only: the SMS application's SdkAppId
    sms_region: str = "ap-guangzhou"  # Tencent only
    sms_endpoint: str | None = None  # default: the provider's public endpoint
    sms_per_minute: int = Field(default=300, ge=1, le=100000)  # codes sent in all, a bill cap

    # Notices (certification/notices.py): the approved template of each kind of notice, as
    # JSON {"certified": "SMS_123", ...}; a kind with no template is not sent by that channel
    notice_sms_templates: dict[str, str] = Field(default_factory=dict)
    notice_wechat_templates: dict[str, str] = Field(default_factory=dict)
    notice_wechat_page: str = "pages/index/index"  # where a WeChat message opens the app
    notice_wechat_state: Literal["developer", "trial", "formal"] = "formal"
    notice_quiet_hours: str = "21:00-08:00"  # local time; only urgent notices go then
    notice_max_failures: int = Field(default=6, ge=1, le=50)
    notice_max_age_days: int = Field(default=7, ge=1, le=90)
    # Receipts: the Ed25519 signing key (base64url of its 32-byte seed) or a file holding
    # it (made on first use in development); earlier public keys still accepted, comma-
    # separated; the public address printed on receipts and in their QR codes
    receipt_signing_key: SecretStr | None = None
    receipt_signing_key_file: Path | None = None
    # Face templates are sealed (AES-256-GCM) under their own keys: base64url 32-byte keys,
    # comma-separated, the current one first (older ones only read); development generates
    # one in the data directory; production names them
    template_keys: SecretStr | None = None
    # Citizen IDs, names, phones and addresses are sealed the same way under the personal
    # data's own keys (same form), and found by a keyed HMAC under the index key (one
    # base64url 32-byte key, never rotated without `lifecert keys reindex`); both generated
    # in development, named in production
    data_keys: SecretStr | None = None
    index_key: SecretStr | None = None
    receipt_earlier_public_keys: str = ""
    public_base_url: str = "http://127.0.0.1:8000"
    receipt_checks_per_address_minute: int = Field(default=30, ge=1, le=10000)
    receipt_checks_per_minute: int = Field(default=3000, ge=1, le=1000000)
    # Staff second factor (TOTP): required in production, optional elsewhere
    staff_second_factor: bool | None = None
    totp_issuer: str = "重庆社保认证"
    # Status streams (server-sent events): open at once, in all and per account
    max_event_streams: int = Field(default=4, ge=1, le=10000)  # keep below the server threads
    event_stream_seconds: int = Field(default=55, ge=5, le=600)

    # The procedure
    timezone: str = "Asia/Shanghai"
    period_months: int = Field(default=12, ge=1, le=60)
    dependant_exempt_below_age: int = Field(default=16, ge=0, le=25)
    min_contact_channels: int = Field(default=2, ge=1, le=4)

    # Information comparison (Art. 11-14)
    comparison_memory_limit: str = Field(default="2GB", pattern=r"^\d+(\.\d+)?\s*(MB|GB)$")
    comparison_threads: int = Field(default=2, ge=1, le=64)
    comparison_workdir: Path | None = None  # default: <data dir>/comparison
    # lost-qualification event kinds applied without a clerk's confirmation (comma-separated;
    # empty: a district clerk confirms every suspension)
    comparison_auto_suspend_kinds: str = ""
    # Art. 11: how often the city-wide comparison runs by itself (Celery beat)
    comparison_schedule: str = Field(default="monthly", pattern="^(monthly|weekly|daily|off)$")
    # Art. 12 "本年度" for signs of life: the twelve months before the run (decision 0015)
    # or the calendar year
    comparison_window: str = Field(
        default="twelve_months", pattern="^(twelve_months|calendar_year)$"
    )
    # Art. 9 daily job: district codes (comma-separated) whose expired-and-unreachable
    # people are suspended at once; elsewhere (the default) a district clerk confirms each
    expired_auto_suspend_districts: str = Field(default="", pattern=r"^(\s*\d{6}\s*,?)*$")
    # Appeals (申诉): answered within this many working days; the working-day calendar is
    # Monday-Friday less the public holidays, plus the weekend days work moves to (调休),
    # both as comma-separated ISO dates the agency updates each year
    appeal_working_days: int = Field(default=15, ge=1, le=60)
    public_holidays: str = Field(default="", pattern=r"^(\s*\d{4}-\d{2}-\d{2}\s*,?)*$")
    moved_workdays: str = Field(default="", pattern=r"^(\s*\d{4}-\d{2}-\d{2}\s*,?)*$")
    # The national cross-region certification system (Art. 21): "outbox" writes each batch to
    # a folder for the transfer agent; "http" posts it to national_upload_url.
    national_transport: str = Field(default="outbox", pattern="^(outbox|http)$")
    national_outbox_dir: Path | None = None  # default: <data dir>/national-outbox
    national_upload_url: str | None = None
    national_upload_token: SecretStr | None = None

    # HTTP
    host: str = "127.0.0.1"
    port: int = 8000
    max_request_bytes: int = 1024 * 1024
    trusted_proxy_hops: int = Field(default=0, ge=0, le=5)
    log_level: str = Field(default="INFO", pattern="^(DEBUG|INFO|WARNING|ERROR)$")
    # json: one JSON object per line for the log collector (the image's default); text for a
    # person at a terminal. Both carry the request id.
    log_format: str = Field(default="text", pattern="^(text|json)$")
    # /metrics: with a token, Prometheus sends it as a bearer token; without one it answers
    # on loopback only (a development machine). The worker serves its own task metrics on
    # worker_metrics_port (needs PROMETHEUS_MULTIPROC_DIR: its tasks run in child processes).
    metrics_token: SecretStr | None = None
    worker_metrics_port: int | None = Field(default=None, ge=1, le=65535)

    # Self-service certification
    selfservice_max_video_mb: int = Field(default=40, ge=1, le=200)
    # load tests with recorded clips only: always ask these actions (refused in production)
    selfservice_fixed_challenge: str | None = None
    # a claim older than this is taken over; longer than the task's hard limit (120 s)
    selfservice_claim_timeout_s: int = Field(default=150, ge=10, le=3600)

    # Staff console and public pages
    # session cookies are Secure (HTTPS only; browsers accept them on http://localhost too)
    cookie_secure: bool = True
    console_session_hours: int = Field(default=8, ge=1, le=24)
    # Supervision (Art. 22-23): the published channels and the reward scale (fen : per mille
    # of the recovered amount above each bound; min/max in fen). The default is a placeholder,
    # not the city's measure (docs/decisions/0011-supervision-and-reward-scale.md).
    tipoff_reward_scale: str = "0:100,1000000:50,5000000:20;min=20000;max=1000000"
    tipoff_phone: str = "12333"
    tipoff_fax: str = "023-00000000"
    tipoff_address: str = "重庆市社会保险局 稽核处（示例地址）"
    tipoff_postcode: str = "400000"
    # public report form: reports per client address per hour, and in all per minute
    tipoff_per_address_hour: int = Field(default=5, ge=1, le=1000)
    tipoff_per_minute: int = Field(default=60, ge=1, le=100000)

    # Models (biometrics): the directory, and how ONNX Runtime runs them
    model_dir: Path | None = None
    onnx_providers: str = "CPUExecutionProvider"  # comma-separated, in order of preference
    onnx_threads: int = Field(default=1, ge=1, le=64)  # per session; two stages run in parallel

    @model_validator(mode="after")
    def _reward_scale_parses(self) -> Settings:
        try:
            self.reward_scale()
        except ValueError as err:
            raise SettingsError(f"LIFECERT_TIPOFF_REWARD_SCALE: {err}") from err
        return self

    @model_validator(mode="after")
    def _production_needs_explicit_services(self) -> Settings:
        if self.environment == "production":
            missing = [
                name
                for name, value in (
                    ("LIFECERT_SECRET_KEY", self.secret_key),
                    ("LIFECERT_DATABASE_URL", self.database_url),
                    ("LIFECERT_BROKER_URL", self.broker_url),
                )
                if not value
            ]
            if self.object_store != "s3":
                missing.append("LIFECERT_OBJECT_STORE=s3")
            if self.selfservice_fixed_challenge:
                raise SettingsError(
                    "LIFECERT_SELFSERVICE_FIXED_CHALLENGE is for load tests; production "
                    "challenges must be random."
                )
            if self.demo:
                raise SettingsError("The demo (serve --demo) cannot run in production.")
            if self.dev_identity_provider:
                raise SettingsError(
                    "LIFECERT_DEV_IDENTITY_PROVIDER accepts anyone's word for an identity; "
                    "production refuses it."
                )
            if self.sms_provider == "log":
                missing.append("LIFECERT_SMS_PROVIDER=aliyun|tencent")
            if not self.template_keys:
                missing.append("LIFECERT_TEMPLATE_KEYS (the face templates' keys)")
            if not self.data_keys:
                missing.append("LIFECERT_DATA_KEYS (the personal data's keys)")
            if not self.index_key:
                missing.append("LIFECERT_INDEX_KEY (the look-up index's key)")
            if not self.receipt_signing_key and not self.receipt_signing_key_file:
                missing.append("LIFECERT_RECEIPT_SIGNING_KEY (or _FILE)")
            if not self.public_base_url.startswith("https://"):
                missing.append("LIFECERT_PUBLIC_BASE_URL=https://…")
            if self.staff_second_factor is False:
                raise SettingsError(
                    "Staff need a second factor in production; "
                    "remove LIFECERT_STAFF_SECOND_FACTOR=false."
                )
            if missing:
                raise SettingsError("Production needs these settings: " + ", ".join(missing))
        if self.sms_provider != "log":
            needed = [
                ("LIFECERT_SMS_ACCESS_KEY_ID", self.sms_access_key_id),
                ("LIFECERT_SMS_ACCESS_KEY_SECRET", self.sms_access_key_secret),
                ("LIFECERT_SMS_SIGN_NAME", self.sms_sign_name),
                ("LIFECERT_SMS_TEMPLATE_CODE", self.sms_template_code),
            ]
            if self.sms_provider == "tencent":
                needed.append(("LIFECERT_SMS_SDK_APP_ID", self.sms_sdk_app_id))
            absent = [name for name, value in needed if not value]
            if absent:
                raise SettingsError(
                    f"LIFECERT_SMS_PROVIDER={self.sms_provider} needs " + ", ".join(absent)
                )
        if self.national_transport == "http" and not self.national_upload_url:
            raise SettingsError(
                "LIFECERT_NATIONAL_TRANSPORT=http needs LIFECERT_NATIONAL_UPLOAD_URL."
            )
        if self.national_transport == "http" and self.national_upload_url:
            from infra.national import url_refusal

            refusal = url_refusal(self.national_upload_url)
            if refusal:
                raise SettingsError(f"LIFECERT_NATIONAL_UPLOAD_URL: {refusal}.")
        _ = self.auto_suspend_kinds  # refuse unknown kinds at start
        if self.object_store == "s3" and not (
            self.s3_endpoint and self.s3_access_key and self.s3_secret_key
        ):
            raise SettingsError(
                "LIFECERT_OBJECT_STORE=s3 needs LIFECERT_S3_ENDPOINT, LIFECERT_S3_ACCESS_KEY "
                "and LIFECERT_S3_SECRET_KEY."
            )
        return self

    @property
    def quiet_hours(self) -> tuple[time, time]:
        start, _, end = self.notice_quiet_hours.partition("-")
        return time.fromisoformat(start.strip()), time.fromisoformat(end.strip())

    @model_validator(mode="after")
    def _notices_parse(self) -> Settings:
        from certification.notices import NoticeKind

        try:
            self.quiet_hours  # noqa: B018 - parsed at start
        except ValueError as err:
            raise SettingsError(
                f"LIFECERT_NOTICE_QUIET_HOURS: {err}; write it like 21:00-08:00."
            ) from err
        kinds = {k.value for k in NoticeKind}
        for name, templates in (
            ("LIFECERT_NOTICE_SMS_TEMPLATES", self.notice_sms_templates),
            ("LIFECERT_NOTICE_WECHAT_TEMPLATES", self.notice_wechat_templates),
        ):
            unknown = sorted(set(templates) - kinds)
            if unknown:
                raise SettingsError(
                    f"{name} names unknown kinds of notice: {', '.join(unknown)} "
                    f"(known: {', '.join(sorted(kinds))})."
                )
        return self

    @property
    def template_key_spec(self) -> str:
        """The template keys, the current first (development: one generated on first use)."""
        if self.template_keys is not None:
            return self.template_keys.get_secret_value()
        from storage.crypto import generated_key_file

        return generated_key_file(self.data_path / "template-keys")

    @property
    def data_key_spec(self) -> str:
        """The personal data's keys, the current first (development: generated on first use)."""
        if self.data_keys is not None:
            return self.data_keys.get_secret_value()
        from storage.crypto import generated_key_file

        return generated_key_file(self.data_path / "data-keys")

    @property
    def index_key_spec(self) -> str:
        """The blind index's key (development: generated on first use)."""
        if self.index_key is not None:
            return self.index_key.get_secret_value()
        from storage.crypto import generated_key_file

        return generated_key_file(self.data_path / "index-key")

    @property
    def resolved_receipt_key_file(self) -> Path:
        return (self.receipt_signing_key_file or self.data_path / "receipt-signing.key").resolve()

    @property
    def data_path(self) -> Path:
        return self.data_dir.resolve()

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.data_path / 'lifecert.sqlite3'}"

    @property
    def resolved_objects_dir(self) -> Path:
        return (self.objects_dir or self.data_path / "objects").resolve()

    @property
    def resolved_comparison_workdir(self) -> Path:
        return (self.comparison_workdir or self.data_path / "comparison").resolve()

    @property
    def resolved_national_outbox(self) -> Path:
        return (self.national_outbox_dir or self.data_path / "national-outbox").resolve()

    @property
    def working_days(self) -> WorkingCalendar:
        from certification.calendar import WorkingCalendar

        def dates(text: str) -> frozenset[date]:
            return frozenset(date.fromisoformat(d.strip()) for d in text.split(",") if d.strip())

        return WorkingCalendar(dates(self.public_holidays), dates(self.moved_workdays))

    @property
    def auto_suspend_expired_districts(self) -> frozenset[str]:
        return frozenset(
            d.strip() for d in self.expired_auto_suspend_districts.split(",") if d.strip()
        )

    @property
    def auto_suspend_kinds(self) -> frozenset[str]:
        from certification.comparison import LOSS_KINDS

        kinds = frozenset(
            k.strip() for k in self.comparison_auto_suspend_kinds.split(",") if k.strip()
        )
        unknown = kinds - {k.value for k in LOSS_KINDS}
        if unknown:
            raise SettingsError(
                "LIFECERT_COMPARISON_AUTO_SUSPEND_KINDS has unknown kinds: "
                + ", ".join(sorted(unknown))
            )
        return kinds

    @property
    def resolved_model_dir(self) -> Path:
        return (self.model_dir or self.data_path / "models").resolve()

    @property
    def dev_identity_enabled(self) -> bool:
        """Anyone's word for an identity: the demo and tests only, never production."""
        if self.environment == "production":
            return False
        if self.dev_identity_provider is None:
            return self.demo
        return self.dev_identity_provider

    @property
    def second_factor_required(self) -> bool:
        if self.staff_second_factor is None:
            return self.environment == "production"
        return self.staff_second_factor

    @property
    def shared_redis_url(self) -> str | None:
        """Redis shared by every process (counters, one-time marks), when the broker is Redis;
        None in the embedded mode (one process: its own memory is enough)."""
        url = self.broker_url
        return url if url and url.startswith(("redis://", "rediss://")) else None

    def identity_key(self) -> str:
        """The key of the hashes kept instead of phone numbers, codes and claimed ID numbers."""
        import hashlib
        import hmac

        return hmac.new(
            self.signing_key().encode(), b"lifecert identity hashes", hashlib.sha256
        ).hexdigest()

    def reward_scale(self) -> RewardScale:
        """The configured tip-off reward scale (checked when the settings load)."""
        from certification.supervision import RewardScale

        return RewardScale.parse(self.tipoff_reward_scale)

    def signing_key(self) -> str:
        """The token-signing key: configured, or generated once and kept in the data directory."""
        if self.secret_key is not None:
            key = self.secret_key.get_secret_value()
            if len(key) < 32:
                raise SettingsError("LIFECERT_SECRET_KEY must have at least 32 characters.")
            return key
        if self.environment == "production":
            raise SettingsError("LIFECERT_SECRET_KEY is required in production.")
        return generated_secret_file(
            self.data_path / "secret_key", lambda: secrets.token_urlsafe(48)
        )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
