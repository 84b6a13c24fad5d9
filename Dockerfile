# One image for every function and the task worker. Each Knative Service picks its function with
# functions-framework's --target/--source (knative/services.yaml); task Jobs run
# `python /app/functions/worker/main.py` (shared/executor/kubernetes.py).
FROM python:3.11-slim
WORKDIR /app
ENV PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 PORT=8080
COPY pyproject.toml README.md ./
COPY shared ./shared
COPY functions ./functions
RUN pip install --no-cache-dir . && useradd --uid 10001 --no-create-home shoal
USER 10001
EXPOSE 8080
CMD ["functions-framework", "--target=meta", "--source=functions/meta/main.py"]
