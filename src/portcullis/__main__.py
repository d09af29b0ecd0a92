"""The program: ``python -m portcullis`` and the ``portcullis`` command (pyproject's script
entry is :func:`entry`)."""

import gc


def entry() -> None:
    # The cyclic collector is off from the very start, before the command line's own imports
    # (click and the rest make thousands of objects that live as long as the process):
    # cli.main turns it back on, frozen past them, once the command's work begins.
    gc.disable()
    from portcullis.cli.main import run

    run(collector_paused=True)


if __name__ == "__main__":
    entry()
