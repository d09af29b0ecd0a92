"""Exit codes of CONTRACT.md §4, and the one way a command ends on an error."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from typing import NoReturn

import click

from portcullis.errors import PortcullisError, one_line

PASSED = 0
POLICY_FAILED = 1
INPUT_ERROR = 2
INTERNAL_ERROR = 3

log = logging.getLogger("portcullis")


class Terminated(BaseException):  # a signal, like KeyboardInterrupt
    """SIGTERM (what a CI timeout sends): unwinds like Ctrl-C, so temp files are removed."""


def on_sigterm(signum: int, frame: object) -> None:
    raise Terminated


def fail(message: str, code: int = INPUT_ERROR) -> NoReturn:
    """One line on stderr, then exit."""
    click.echo(f"portcullis: error: {one_line(message, limit=None)}", err=True)
    sys.exit(code)


@contextmanager
def exit_on_error(what: str, *, debug: bool) -> Iterator[None]:
    """Expected errors (``PortcullisError``) and interrupts end the command with exit 2 and
    one line; anything else is a bug: exit 3, or its traceback with ``--debug``."""
    try:
        yield
    except PortcullisError as e:
        if debug:
            log.exception("%s failed", what)
        fail(str(e))
    except Terminated:
        fail("terminated")
    except KeyboardInterrupt:
        fail("interrupted")
    except BrokenPipeError:
        # `portcullis scan ... | head`: the reader left before the report was written whole.
        fail("output closed before it was all written (a reader on a pipe went away)")
    except Exception as e:
        if debug:
            raise
        fail(f"internal error: {type(e).__name__}: {e} (run with --debug for a traceback)",
             INTERNAL_ERROR)
