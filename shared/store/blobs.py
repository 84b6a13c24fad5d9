"""Large values in the bucket: results, artifacts, transcripts and oversized documents."""

from __future__ import annotations

from shared.store.clients import client, error_code
from shared.store.tables import bucket_name


def put_blob(key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
    client("s3").put_object(Bucket=bucket_name(), Key=key, Body=data, ContentType=content_type)


def get_blob(key: str) -> bytes | None:
    """The object's bytes, or None when it does not exist."""
    try:
        response = client("s3").get_object(Bucket=bucket_name(), Key=key)
    except Exception as exc:
        if error_code(exc) in ("NoSuchKey", "404"):
            return None
        raise
    return response["Body"].read()


def delete_blob(key: str) -> None:
    client("s3").delete_object(Bucket=bucket_name(), Key=key)
