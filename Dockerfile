# Portal Messaging: one image for every process (web, worker, cron, mail-in, migrate).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PORTAL_INSTANCE_PATH=/var/lib/portal \
    UPLOAD_DIR=/srv/portal/uploads

RUN useradd --create-home --uid 10001 portal \
    && mkdir -p /var/lib/portal /srv/portal/uploads \
    && chown portal:portal /var/lib/portal /srv/portal/uploads

WORKDIR /opt/portal
COPY pyproject.toml README.md ./
COPY portal ./portal
COPY jobs ./jobs
COPY migrations ./migrations
COPY wsgi.py Procfile gunicorn.conf.py ./
# Editable, so the app finds its migrations beside the package.
RUN pip install -e .

USER portal
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s \
    CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"
CMD ["gunicorn", "--worker-class", "gevent", "--workers", "2", "--worker-connections", "12000", \
     "--keep-alive", "75", "--graceful-timeout", "5", "--no-control-socket", \
     "--bind", "0.0.0.0:8000", "wsgi:app"]
