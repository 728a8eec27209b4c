# Production image: the API (gunicorn) or, with another command, the Celery worker or beat.
#
# BASE is Python 3.11 on Debian bookworm. Production builds pin the official slim image;
# where no registry is reachable, scripts/build-image makes an equivalent base from Debian
# packages (debootstrap) and passes it here. Both stages use the same base, so the virtual
# environment's interpreter path is the same in the build and the final image.
ARG BASE=docker.io/library/python:3.11-slim-bookworm

FROM ${BASE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# 1. The dependencies alone, from pyproject.toml and the pinned constraints: a change of the
#    sources does not repeat this (slow) layer.
COPY pyproject.toml constraints.txt ./
RUN python -m venv /opt/venv \
    && python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && /opt/venv/bin/pip install --quiet -c constraints.txt -r /tmp/requirements.txt
# 2. The service itself, without resolving anything again; then the installers leave.
COPY README.md ./
COPY api api
COPY biometrics biometrics
COPY certification certification
COPY console console
COPY infra infra
COPY lifecert lifecert
COPY models models
COPY storage storage
COPY worker worker
RUN /opt/venv/bin/pip install --quiet --no-deps -c constraints.txt . \
    && /opt/venv/bin/pip uninstall --quiet --yes pip setuptools wheel \
    && find /opt/venv -name '__pycache__' -prune -exec rm -rf {} +

FROM ${BASE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    LIFECERT_ENVIRONMENT=production \
    LIFECERT_DATA_DIR=/var/lib/lifecert \
    LIFECERT_MODEL_DIR=/var/lib/lifecert/models \
    LIFECERT_HOST=0.0.0.0 \
    LIFECERT_LOG_FORMAT=json \
    PROMETHEUS_MULTIPROC_DIR=/tmp/lifecert-metrics
# The service user owns its data folder and the models folder (a volume or an operator model
# pack is mounted there; the models are verified by sha256 when a process starts).
RUN groupadd --system lifecert \
    && useradd --system --gid lifecert --home-dir /var/lib/lifecert --shell /usr/sbin/nologin lifecert \
    && mkdir -p /var/lib/lifecert/models \
    && chown -R lifecert:lifecert /var/lib/lifecert
COPY --from=build /opt/venv /opt/venv
USER lifecert
WORKDIR /var/lib/lifecert
VOLUME ["/var/lib/lifecert/models"]
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"]
CMD ["gunicorn", "--config", "python:lifecert.gunicorn_conf", "lifecert.wsgi:app"]
