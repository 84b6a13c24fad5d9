"""Which images a task may ask the Kubernetes executor to run its worker in (labrats `config.executorImage`).

The override replaces the worker's image, so it runs with the worker's ServiceAccount and the task's
git credential: an arbitrary image would be arbitrary code with those. Only images on the allow-list
SHOAL_JOBS_EXECUTOR_IMAGES are accepted (exact references, or prefixes ending in `*` such as
`registry.example.com/shoal-worker:*`); the default, empty, allows none. The image must still run
Shoal's worker (`python /app/functions/worker/main.py`): build it FROM Shoal's image.
"""

from __future__ import annotations

from shared.config import get_settings

MAX_IMAGE_CHARS = 512
# Why an executorImage does nothing under the local executor (recorded on the job and in its log).
LOCAL_NOTE = "the local executor runs the worker as a process on this host, not in an image"


def allowed_images() -> list[str]:
    return [entry.strip() for entry in get_settings().jobs_executor_images.split(",") if entry.strip()]


def refusal(image: str) -> str | None:
    """Why `image` may not be run (a sentence), or None when the allow-list admits it."""
    if not image or len(image) > MAX_IMAGE_CHARS or any(c.isspace() or ord(c) < 32 for c in image):
        return f"{image!r} is not an image reference"
    allowed = allowed_images()
    for entry in allowed:
        if image == entry or (entry.endswith("*") and image.startswith(entry[:-1])):
            return None
    if not allowed:
        return f"{image} is not allowed: SHOAL_JOBS_EXECUTOR_IMAGES allows no executor image override"
    return f"{image} is not allowed: it is not on SHOAL_JOBS_EXECUTOR_IMAGES"
