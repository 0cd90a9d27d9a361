# The site and the Celery worker (docker-compose.yml runs both from this image).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    DJANGO_SETTINGS_MODULE=kbsite.settings \
    STATIC_ROOT=/app/staticfiles

RUN useradd --create-home --uid 10001 cpukb

# Install the project as a package (templates, static and data files travel as package data),
# then drop the sources: the container runs the installed copy only.
WORKDIR /src
COPY pyproject.toml README.md ./
COPY kbsite ./kbsite
COPY cpus ./cpus
COPY migrations_log ./migrations_log
COPY client ./client
RUN pip install . && rm -rf /src

# collectstatic writes STATIC_ROOT at container start, as the unprivileged user.
WORKDIR /app
RUN mkdir -p /app/staticfiles && chown cpukb:cpukb /app/staticfiles
# Threaded workers and client timeouts (GUNICORN_* variables): see the file.
COPY gunicorn.conf.py /app/gunicorn.conf.py
USER cpukb

EXPOSE 8000
CMD ["gunicorn", "-c", "/app/gunicorn.conf.py"]
