"""Errors that already say what is wrong, shown as one message (exit 1) instead of a trace."""

from typing import Any, ClassVar

import click
from google.api_core.exceptions import GoogleAPICallError


class ErrorsAsMessages(click.Group):
    """A command group whose `shown` errors, and the Google APIs' answers, end in a message."""

    shown: ClassVar[tuple[type[Exception], ...]] = ()

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except self.shown as error:
            raise click.ClickException(str(error)) from error
        except GoogleAPICallError as error:
            raise click.ClickException(api_message(error)) from error


def api_message(error: GoogleAPICallError) -> str:
    """The API's own words, on one line: BigQuery's first error says what was wrong with a
    query ("Syntax error: ... at [1:7]"), without the job's details after it."""
    first = (error.errors or [{}])[0]
    found = first.get("message") if isinstance(first, dict) else None
    return f"{error.code} {found or error.message}"
