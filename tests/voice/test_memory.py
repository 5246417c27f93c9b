import ctypes.util
import sys

import pytest

from voice import memory


@pytest.mark.skipif(
    not sys.platform.startswith("linux") or ctypes.util.find_library("c") is None,
    reason="malloc_trim is glibc's",
)
def test_the_heap_is_trimmed_at_most_every_few_seconds() -> None:
    assert memory.release_free_heap(force=True)
    assert not memory.release_free_heap()  # too soon after the last one
    assert memory.release_free_heap(force=True)
