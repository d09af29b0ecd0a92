"""The CLI's one way to end on an error: exception -> exit code + one line on stderr."""

from __future__ import annotations

import pytest

from portcullis.cli.exit_codes import INPUT_ERROR, INTERNAL_ERROR, exit_on_error
from portcullis.errors import SourceError, one_line


def _exit_of(error: BaseException, capsys: pytest.CaptureFixture[str], *,
             debug: bool = False) -> tuple[int, str]:
    with pytest.raises(SystemExit) as stopped, exit_on_error("test", debug=debug):
        raise error
    return int(str(stopped.value.code)), capsys.readouterr().err


def test_expected_error_is_exit_2_and_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _exit_of(SourceError("cannot open\n  image.tar:   truncated"), capsys)
    assert code == INPUT_ERROR
    assert err == "portcullis: error: cannot open image.tar: truncated\n"


def test_interrupt_is_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_of(KeyboardInterrupt(), capsys) == (INPUT_ERROR,
                                                     "portcullis: error: interrupted\n")


def test_bug_is_exit_3_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    code, err = _exit_of(ZeroDivisionError("division by zero"), capsys)
    assert code == INTERNAL_ERROR
    assert err.startswith("portcullis: error: internal error: ZeroDivisionError: division by zero")
    assert "Traceback" not in err and err.count("\n") == 1


def test_bug_with_debug_keeps_its_traceback() -> None:
    with pytest.raises(ZeroDivisionError), exit_on_error("test", debug=True):
        raise ZeroDivisionError("division by zero")


def test_success_passes_through(capsys: pytest.CaptureFixture[str]) -> None:
    with exit_on_error("test", debug=False):
        value = 1
    assert value == 1
    assert capsys.readouterr().err == ""


def test_one_line_flattens_and_cuts() -> None:
    assert one_line("a\n  b\tc") == "a b c"
    assert one_line("x" * 400, limit=10) == "x" * 9 + "…"
    assert one_line("x" * 400, limit=None) == "x" * 400
