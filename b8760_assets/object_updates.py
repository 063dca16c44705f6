"""Compare-and-swap updates of many objects: how concurrent runs and retries change the same
object without losing each other's changes.

Each update reads the object, applies its change, and writes the result back only if nobody
wrote the object meanwhile (a generation precondition); a lost race reads and applies again.
A change that leaves the content as it was writes nothing, so replays are cheap.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import partial

from b8760_assets.ordered_map import ordered_map
from b8760_assets.storage import (
    DEFAULT_CONTENT_TYPE,
    GenerationConflict,
    ObjectMissing,
    StorageError,
    StorageResource,
)

MAX_SWAP_ATTEMPTS = 20


@dataclass(frozen=True)
class ObjectUpdate:
    """A change to one object: its new content as a function of the current one (None: absent)."""

    name: str
    change: Callable[[bytes | None], bytes]
    content_type: str = DEFAULT_CONTENT_TYPE
    metadata: Callable[[bytes], dict[str, str]] | None = None  # of the new content


@dataclass(frozen=True)
class UpdateOutcome:
    name: str
    written: bool  # False when the change left the object as it was
    retries: int  # writes lost to a concurrent writer before this one won


def update_each(
    storage: StorageResource, bucket: str, updates: Iterable[ObjectUpdate]
) -> Iterator[UpdateOutcome]:
    """Apply the updates from storage.max_parallel_writes threads, taking them from the
    iterable as threads free up; outcomes come back in order, so that a million updates take
    the memory of a few hundred. A failure is raised when its outcome's turn comes.

    While most objects turn out to be new, an object is first written create-only without
    reading it (one request instead of two); an existing one refuses that write, and is then
    read and swapped like any other."""
    guess = NewObjectsGuess()
    yield from ordered_map(
        partial(swap, storage, bucket, guess=guess),
        updates,
        workers=storage.max_parallel_writes,
        ahead=8 * storage.max_parallel_writes - 1,
    )


def swap(
    storage: StorageResource, bucket: str, update: ObjectUpdate, guess: NewObjectsGuess
) -> UpdateOutcome:
    """One update, retried until its write is the one that follows what it read."""
    created = update.change(None) if guess.likely() else None
    retries = 0
    for attempt in range(MAX_SWAP_ATTEMPTS):
        if attempt == 0 and created is not None:
            before, generation, after = None, 0, created
        else:
            try:
                current = storage.read(bucket, update.name)
                before, generation = current.data, current.object.generation
            except ObjectMissing:
                before, generation = None, 0
            if attempt == 0:
                guess.record(new=before is None)
            after = update.change(before)
        if after == before:
            return UpdateOutcome(update.name, written=False, retries=retries)
        try:
            storage.write(
                bucket,
                update.name,
                after,
                if_generation_match=generation,
                content_type=update.content_type,
                metadata=update.metadata(after) if update.metadata else None,
            )
            if attempt == 0 and created is not None:
                guess.record(new=True)
            return UpdateOutcome(update.name, written=True, retries=retries)
        except GenerationConflict:
            if attempt == 0 and created is not None:
                guess.record(new=False)  # it existed: a guess missed, not a race lost
            else:
                retries += 1
    raise StorageError(
        f"gs://{bucket}/{update.name} kept changing: {MAX_SWAP_ATTEMPTS} writes in a row "
        "lost the race; is something else rewriting it in a loop?"
    )


class NewObjectsGuess:
    """Whether the objects of a batch of updates are mostly new, from the first attempts so
    far (a guess: updates are correct either way, only their cost differs)."""

    def __init__(self) -> None:
        self.seen = 0
        self.existed = 0

    def likely(self) -> bool:
        return self.existed * 4 <= self.seen

    def record(self, *, new: bool) -> None:
        self.seen += 1
        self.existed += not new
