"""Progress bars of the long commands (downloads and uploads of many objects)."""

import sys
from collections.abc import Iterable
from typing import TYPE_CHECKING, TypeVar

import click

if TYPE_CHECKING:
    from click._termui_impl import ProgressBar

T = TypeVar("T")


def progress(items: Iterable[T], *, length: int, label: str) -> "ProgressBar[T]":
    """A bar on stderr as `items` are worked through, shown only on a terminal: in tests, CI
    logs and pipes nothing is drawn, and the command's final count line says what was done."""
    return click.progressbar(
        items, length=length, label=label, file=sys.stderr, hidden=not sys.stderr.isatty()
    )
