# One slim image for both roles: `handover serve` (default) or `handover worker`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY config ./config
COPY handover ./handover
COPY webhooks ./webhooks
COPY graph ./graph
COPY workers ./workers
COPY desk ./desk
COPY app ./app
RUN pip install . && useradd --system --uid 10001 --home-dir /app handover
USER handover

ENV HANDOVER_HOST=0.0.0.0 HANDOVER_PORT=8080
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
  CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz').status != 200)"
ENTRYPOINT ["handover"]
CMD ["serve"]
