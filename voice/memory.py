"""Give freed heap memory back to the operating system.

Each call allocates and frees tens of megabytes (audio buffers, recognition and
synthesis tensors) from several worker threads. glibc keeps freed chunks inside
its heaps, so without a trim the process's resident size creeps up with the
fragments of past calls although nothing is in use. `malloc_trim(0)` returns
every free page; it is cheap (milliseconds) and done at most every few seconds.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger("dutyline.voice.memory")

_MIN_INTERVAL_SECONDS = 5.0


def _load_trim() -> Callable[[int], int] | None:
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        trim = ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc (musl, macOS): nothing to do
        return None
    trim.argtypes = [ctypes.c_size_t]
    trim.restype = ctypes.c_int
    return trim  # type: ignore[no-any-return]


_trim = _load_trim()
_lock = threading.Lock()
_last = 0.0


def release_free_heap(*, force: bool = False) -> bool:
    """Return free heap pages to the OS (blocking; run it in a worker thread).

    Skipped when the last trim was less than a few seconds ago, unless `force`.
    Returns whether a trim ran.
    """
    global _last
    if _trim is None:
        return False
    with _lock:
        now = time.monotonic()
        if not force and now - _last < _MIN_INTERVAL_SECONDS:
            return False
        _last = now
    started = time.perf_counter()
    _trim(0)
    log.debug("heap trimmed in %.1f ms", (time.perf_counter() - started) * 1000)
    return True
