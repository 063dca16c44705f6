"""Problems found in a platform's configuration, as values a person can act on."""

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")


@dataclass(frozen=True)
class ConfigProblem:
    """One thing wrong in one configuration file: where it is, which key, what is wrong."""

    file: Path
    line: int | None
    key: str | None
    message: str

    def __str__(self) -> str:
        where = str(self.file) if self.line is None else f"{self.file}:{self.line}"
        parts = [where, self.key, self.message]
        return ": ".join(part for part in parts if part)


class ConfigError(Exception):
    """A configuration that cannot be used, with every problem found in it (not just the first)."""

    def __init__(self, problems: Iterable[ConfigProblem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(problem) for problem in self.problems))


def checked(value: T | None, problems: list[ConfigProblem]) -> T:
    """The value a reader produced, or ConfigError if it found any problem (a reader gives
    None exactly when it found some)."""
    if problems:
        raise ConfigError(problems)
    assert value is not None, "a reader that found no problem gives a value"
    return value
