"""For tests/bench/store_gc.py only: a process started with this directory on PYTHONPATH and
SHOAL_BENCH_GC_LOG set appends one line per full (generation 2) garbage collection to that file:
the collection's CPU in ms (its thread's), the objects frozen at the time (gc.freeze) and those collected."""

import gc
import os
import time

_path = os.environ.get("SHOAL_BENCH_GC_LOG")
if _path:
    _started = [0.0]

    def _timed(phase: str, info: dict) -> None:
        if phase == "start":
            _started[0] = time.thread_time()
        elif info["generation"] == 2:
            with open(_path, "a") as log:
                log.write(f"{(time.thread_time() - _started[0]) * 1000:.1f} {gc.get_freeze_count()} {info['collected']}\n")

    gc.callbacks.append(_timed)
