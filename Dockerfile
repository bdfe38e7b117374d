# One image for the web app, the central worker and beat (and the agent on probed hosts).
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends iproute2 util-linux \
    && rm -rf /var/lib/apt/lists/*
COPY pyproject.toml ./
COPY roadmap roadmap
COPY probes probes
COPY templates templates
COPY static static
COPY manage.py ./
RUN pip install --no-cache-dir .
ENV ROADMAP_VAR_DIR=/var/lib/roadmap
RUN DEBUG=true python manage.py collectstatic --noinput
EXPOSE 8000
CMD ["gunicorn", "roadmap.wsgi", "--bind", "0.0.0.0:8000", "--workers", "3"]
