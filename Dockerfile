# One image for web (gunicorn), worker and beat: docker-compose.yml picks the command.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    DJANGO_SETTINGS_MODULE=cets.settings \
    STATICFILES_STORAGE=whitenoise.storage.CompressedManifestStaticFilesStorage

WORKDIR /app

# Dependencies first (pinned in pyproject.toml), so code changes do not reinstall them.
COPY pyproject.toml README.md ./
RUN pip install .

COPY . .
# Static files are collected at build time; the key is a throwaway, never used at run time.
RUN SECRET_KEY=collectstatic-only DEBUG=0 python manage.py collectstatic --noinput -v0 \
    && useradd --system --uid 1000 --home /app cets \
    && mkdir -p /data/media && chown -R cets /data/media

USER cets
EXPOSE 8000
CMD ["sh", "-c", "exec gunicorn cets.wsgi:application --bind 0.0.0.0:8000 --workers ${WEB_CONCURRENCY:-3} --timeout 120 --access-logfile -"]
