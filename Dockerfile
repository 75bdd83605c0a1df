FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md config.yaml ./
COPY service ./service
COPY workers ./workers
RUN pip install --no-cache-dir .
# The API by default; the worker service overrides the command.
CMD ["uvicorn", "--factory", "headline_dedup.api.app:create_app", "--host", "0.0.0.0", "--port", "8000"]
