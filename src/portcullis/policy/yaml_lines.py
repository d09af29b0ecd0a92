"""YAML read into plain values, with the line of every value: policy errors name the line.

PyYAML's composer keeps each node's position; the values are built node by node with the safe
constructors, and ``Located.lines`` maps each value's path (``("rules", "secret", 0)``) to its
1-based line. Duplicate keys are an error (PyYAML would silently keep the last one).
"""

from __future__ import annotations

from typing import Any

import msgspec
import yaml

from portcullis.errors import PolicyError

Path = tuple[str | int, ...]

# Aliases let a few lines expand into millions of values ("billion laughs"), or into a value
# that contains itself: both are refused instead of hanging or recursing without end.
MAX_VALUES = 100_000
MAX_DEPTH = 64


class Located(msgspec.Struct):
    value: Any
    name: str  # the file, for messages
    lines: dict[Path, int] = msgspec.field(default_factory=dict)

    def line(self, path: Path) -> int:
        """The line of ``path``, else of its nearest parent that has one."""
        while path not in self.lines and path:
            path = path[:-1]
        return self.lines.get(path, 1)

    def error(self, path: Path, message: str) -> PolicyError:
        where = dotted(path)
        return PolicyError(f"{self.name}:{self.line(path)}: {where + ': ' if where else ''}"
                           f"{message}")


def dotted(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def read_yaml(text: str, name: str) -> Located:
    loader = yaml.SafeLoader(text)
    try:
        node = loader.get_single_node()
        located = Located(value=None, name=name)
        if node is not None:
            located.value = _build(loader, node, (), located)
        return located
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        line = mark.line + 1 if mark else 1
        raise PolicyError(f"{name}:{line}: not valid YAML: {e.problem or e.context}") from e
    except yaml.YAMLError as e:
        raise PolicyError(f"{name}: not valid YAML: {e}") from e
    finally:
        loader.dispose()


def _build(loader: yaml.SafeLoader, node: yaml.Node, path: Path, out: Located) -> Any:
    if len(path) > MAX_DEPTH or len(out.lines) >= MAX_VALUES:
        what = f"nested deeper than {MAX_DEPTH}" if len(path) > MAX_DEPTH else \
            f"more than {MAX_VALUES} values"
        raise PolicyError(f"{out.name}:{node.start_mark.line + 1}: {what} "
                          "(a self-referencing or expanding alias?)")
    out.lines[path] = node.start_mark.line + 1
    if isinstance(node, yaml.MappingNode):
        loader.flatten_mapping(node)  # merge keys (<<) as YAML means them
        mapping: dict[str, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, str):
                raise PolicyError(f"{out.name}:{key_node.start_mark.line + 1}: "
                                  f"keys must be text, got {key!r}")
            if key in mapping:
                raise PolicyError(f"{out.name}:{key_node.start_mark.line + 1}: "
                                  f"duplicate key {dotted((*path, key))!r}")
            mapping[key] = _build(loader, value_node, (*path, key), out)
        return mapping
    if isinstance(node, yaml.SequenceNode):
        return [_build(loader, item, (*path, i), out) for i, item in enumerate(node.value)]
    return loader.construct_object(node, deep=True)
