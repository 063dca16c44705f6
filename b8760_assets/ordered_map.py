"""function(item) for a stream of items, in threads, the results in the items' order."""

from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")


def ordered_map(
    function: Callable[[T], R], items: Iterable[T], *, workers: int, ahead: int
) -> Iterator[R]:
    """Results of function(item), in order, from `workers` threads; items are taken from the
    iterable only `ahead` results before they are wanted, so that memory holds a few of them
    whatever the stream's length. A failure is raised when its result's turn comes."""
    with ThreadPoolExecutor(max_workers=workers) as pool:
        pending: deque[Future[R]] = deque()
        try:
            for item in items:
                pending.append(pool.submit(function, item))
                if len(pending) > ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for future in pending:
                future.cancel()
