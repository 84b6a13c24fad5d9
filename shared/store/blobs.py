"""Large values in the bucket: results, artifacts, transcripts and oversized documents."""

from __future__ import annotations

from shared.store.clients import client, error_code
from shared.store.outages import StoreUnavailable, translated
from shared.store.tables import bucket_name


def put_blob(key: str, data: bytes, content_type: str = "application/octet-stream") -> None:
    client("s3").put_object(Bucket=bucket_name(), Key=key, Body=data, ContentType=content_type)


def get_blob(key: str) -> bytes | None:
    """The object's bytes, or None when S3 says it does not exist.

    Only S3's own `NoSuchKey` means absent. A bare 404 (no error document) comes from something in
    front of S3 (a proxy, a gateway whose backend is down): that is an outage, never "missing",
    or a record whose document lives here would read as not found.
    """
    try:
        response = client("s3").get_object(Bucket=bucket_name(), Key=key)
    except Exception as exc:
        code = error_code(exc)
        if code == "NoSuchKey":
            return None
        if code == "404":
            raise StoreUnavailable() from exc
        raise
    with translated("get_object.read"):  # the body streams after the call returned
        return response["Body"].read()


def delete_blob(key: str) -> None:
    client("s3").delete_object(Bucket=bucket_name(), Key=key)
