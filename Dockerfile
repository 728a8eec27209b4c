# Production image: the API (gunicorn) or, with another command, the Celery worker.
FROM python:3.11-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
COPY pyproject.toml README.md constraints.txt ./
COPY api api
COPY biometrics biometrics
COPY certification certification
COPY console console
COPY lifecert lifecert
COPY models models
COPY storage storage
COPY worker worker
RUN python -m venv /opt/venv && /opt/venv/bin/pip install -c constraints.txt .

FROM python:3.11-slim
# OpenCV (pulled in by insightface) needs these shared libraries at import time.
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    LIFECERT_ENVIRONMENT=production \
    LIFECERT_DATA_DIR=/var/lib/lifecert \
    LIFECERT_MODEL_DIR=/var/lib/lifecert/models \
    LIFECERT_HOST=0.0.0.0
RUN groupadd --system lifecert && useradd --system --gid lifecert --home /var/lib/lifecert lifecert \
    && mkdir -p /var/lib/lifecert && chown lifecert:lifecert /var/lib/lifecert
COPY --from=build /opt/venv /opt/venv
USER lifecert
WORKDIR /var/lib/lifecert
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status == 200 else 1)"
CMD ["gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "8", "--timeout", "60", "--access-logfile", "-", "lifecert.wsgi:app"]
