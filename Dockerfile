# The hub's image: web (gunicorn), worker and beat all run from it.
FROM python:3.11-slim
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEBUG=false
WORKDIR /app
COPY pyproject.toml README.md ./
COPY mdm ./mdm
COPY stewardship ./stewardship
COPY sync ./sync
COPY templates ./templates
COPY static ./static
COPY manage.py ./
RUN pip install --no-cache-dir . \
 && SECRET_KEY=build-only ALLOWED_HOSTS=build python manage.py collectstatic --noinput \
 && useradd --system --home /app mdm && chown -R mdm /app
USER mdm
EXPOSE 8000
CMD ["gunicorn", "-c", "mdm/gunicorn.conf.py", "mdm.wsgi"]
