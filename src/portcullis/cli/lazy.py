"""Click pieces that import on demand: a group whose subcommands live in modules imported when
the subcommand runs or its help is shown, and the ``--format`` choice, whose names come from
the writers' discovery only when click checks or shows them. Together they keep
``import portcullis.cli.main`` to click and a few small modules."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from typing import Any

import click


class LazyGroup(click.Group):
    """``lazy`` maps a command name to ``"module:attribute"``, the click command to use."""

    def __init__(self, *args: Any, lazy: Mapping[str, str] | None = None,
                 **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lazy = dict(lazy or {})

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self._lazy})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        target = self._lazy.get(cmd_name)
        if target is None or cmd_name in self.commands:
            return super().get_command(ctx, cmd_name)
        module_name, _, attribute = target.partition(":")
        command = getattr(importlib.import_module(module_name), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{target} is not a click command")
        self.add_command(command, cmd_name)  # imported once
        return command


class FormatChoice(click.Choice):  # type: ignore[type-arg]
    """The report formats ``report.base.writers()`` finds, looked up on first use."""

    def __init__(self) -> None:
        super().__init__((), case_sensitive=True)

    @property
    def choices(self) -> tuple[str, ...]:
        from portcullis.report.base import writers

        return tuple(writers())

    @choices.setter
    def choices(self, value: Any) -> None:
        """Click's constructor assigns the (empty) tuple given; the property answers."""
