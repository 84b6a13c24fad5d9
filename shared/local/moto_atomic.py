"""Make moto's DynamoDB item writes atomic, as DynamoDB's are.

moto evaluates a ConditionExpression and then applies the write without holding a lock, so two
threads can both pass `version = :v` and both write: a lost update DynamoDB itself never allows.
Every optimistic-locking guarantee of the store would then be untestable (and `make run` with
several replicas of a function would lose updates). Serializing moto's write operations closes that
window; reads stay concurrent. Applied by the local platform's moto server and by the tests.
"""

from __future__ import annotations

import functools
import sys
import threading

WRITES = ("put_item", "update_item", "delete_item", "transact_write_items", "batch_write_item")
_lock = threading.RLock()


def make_writes_atomic() -> None:
    """Wrap moto's DynamoDB write operations in one process-wide lock (idempotent)."""
    from moto.dynamodb.models import DynamoDBBackend

    for name in WRITES:
        original = getattr(DynamoDBBackend, name)
        if getattr(original, "_atomic", False):
            continue

        @functools.wraps(original)
        def locked(self, *args, _original=original, **kwargs):
            with _lock:
                return _original(self, *args, **kwargs)

        locked._atomic = True  # type: ignore[attr-defined]
        setattr(DynamoDBBackend, name, locked)


def main(argv: list[str] | None = None) -> None:
    """`python -m shared.local.moto_atomic -H host -p port`: moto's server with atomic writes.

    Started through `shared.local.serve.spawn` it serves the listening socket it was handed instead
    of binding `-p` itself (no window in which another process can take the port).
    """
    from shared.local.serve import inherited_fd

    make_writes_atomic()
    fd = inherited_fd()
    if fd is None:
        from moto.server import main as moto_main

        moto_main(argv if argv is not None else sys.argv[1:])
        return
    import os
    import socket

    from moto.server import DomainDispatcherApplication, create_backend_app
    from werkzeug.serving import make_server

    with socket.socket(fileno=os.dup(fd)) as probe:
        host, port = probe.getsockname()[:2]
    os.environ.setdefault("MOTO_PORT", str(port))
    app = DomainDispatcherApplication(create_backend_app)
    make_server(host, port, app, threaded=True, fd=fd).serve_forever()


if __name__ == "__main__":
    main()
