"""The worker and beat processes' Celery app: ``celery -A lifecert.worker_process worker``.

One runtime per process, built from the settings; each forked worker child opens its own
database connections on first use and loads the face models on its first clip."""

from infra.settings import get_settings
from lifecert.bootstrap import build_runtime

runtime = build_runtime(get_settings())
app = runtime.queue_app
