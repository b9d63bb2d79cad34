# syntax=docker/dockerfile:1
# Hangar Bay: one image for the web app, the ingestion worker and the migrate job.

FROM python:3.11-slim-bookworm AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PDM_CHECK_UPDATE=false
RUN pip install --no-cache-dir "pdm==2.29.4" "hishel[httpx2]>=1.4,<2"
WORKDIR /src
COPY pyproject.toml pdm.lock README.md ./
COPY src ./src
COPY docker/install-app.sh ./docker/install-app.sh
RUN sh docker/install-app.sh /opt/venv

FROM python:3.11-slim-bookworm AS runtime
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    HANGAR_ENVIRONMENT=production \
    HANGAR_HOST=0.0.0.0 \
    HANGAR_PORT=8000
RUN groupadd --system --gid 10001 hangar \
    && useradd --system --uid 10001 --gid hangar --home-dir /app --shell /usr/sbin/nologin hangar
COPY --from=build /opt/venv /opt/venv
WORKDIR /app
RUN chown hangar:hangar /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=15s --timeout=3s --start-period=20s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2).status == 200 else 1)"]
ENTRYPOINT ["hangar-bay"]
CMD ["serve", "--no-ingest"]
