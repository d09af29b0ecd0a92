"""The image's history lines as Dockerfile instructions, each with its layer and whether it
belongs to the base image.

``created_by`` comes in several spellings: BuildKit writes ``RUN /bin/sh -c cmd # buildkit``,
``COPY x /y # buildkit``, ``EXPOSE map[22/tcp:{}]``; the classic builder, podman and buildah
write ``/bin/sh -c #(nop)  EXPOSE 22`` for metadata steps and ``/bin/sh -c cmd`` for RUN;
build arguments in effect prefix a RUN as ``|2 A=1 B=2 /bin/sh -c cmd``.
"""

from __future__ import annotations

import re

import msgspec

from portcullis.model.image import ImageInfo

_KEYWORDS = frozenset({
    "ADD", "ARG", "CMD", "COPY", "ENTRYPOINT", "ENV", "EXPOSE", "HEALTHCHECK", "LABEL",
    "MAINTAINER", "ONBUILD", "RUN", "SHELL", "STOPSIGNAL", "USER", "VOLUME", "WORKDIR",
})
_NOP = re.compile(r"^/bin/sh -c #\(nop\)\s*")
_SHELL = re.compile(r"^(?:/bin/(?:ba)?sh|sh|bash) -c ")
_ARGS = re.compile(r"^\|(\d+) ")
# The line that closes a base image's history (as in base_image.py).
_FINAL_STEP = re.compile(r"^(?:/bin/sh -c )?(?:#\(nop\)\s*)?(?:CMD|ENTRYPOINT)\b", re.IGNORECASE)


class Step(msgspec.Struct, frozen=True, kw_only=True):
    index: int  # position in the config's history (0-based)
    layer: int | None  # the layer this line wrote; None for metadata-only lines
    created_by: str
    keyword: str  # RUN, ADD, ENV, ... ("" when unknown)
    body: str  # the instruction without its keyword and shell wrapper
    build_args: tuple[str, ...] = ()  # names of the build arguments in effect (never values)
    inherited: bool | None = None  # True: a line of the base image's history


def parse_line(created_by: str) -> tuple[str, str, tuple[str, ...]]:
    """``created_by`` → (keyword, body, build argument names)."""
    text = created_by.strip().removesuffix("# buildkit").strip()
    keyword = ""
    nop = _NOP.match(text)
    if nop:
        text = text[nop.end():]
    head, _, rest = text.partition(" ")
    if head.upper() in _KEYWORDS:
        keyword, text = head.upper(), rest.strip()
    elif not nop and (_SHELL.match(text) or _ARGS.match(text)):
        keyword = "RUN"
    names: tuple[str, ...] = ()
    if keyword == "RUN":
        args = _ARGS.match(text)
        if args:
            tokens = text[args.end():].split(" ")
            count = int(args.group(1))
            names = tuple(t.split("=", 1)[0] for t in tokens[:count])
            text = " ".join(tokens[count:])
        shell = _SHELL.match(text)
        if shell:
            text = text[shell.end():]
    return keyword, text.strip(), names


def steps(info: ImageInfo, base_last_layer: int | None) -> list[Step]:
    """Every history line in order. Layers are known only when the non-empty lines match the
    layer list one for one (squashed images do not)."""
    history = info.config.history
    mapped = sum(1 for h in history if not h.empty_layer) == len(info.layers)
    end = _base_end(info, base_last_layer) if mapped else None
    out: list[Step] = []
    layer = -1
    for i, entry in enumerate(history):
        if not entry.empty_layer:
            layer += 1
        keyword, body, names = parse_line(entry.created_by)
        out.append(Step(index=i, layer=layer if mapped and not entry.empty_layer else None,
                        created_by=entry.created_by, keyword=keyword, body=body,
                        build_args=names, inherited=None if end is None else i <= end))
    return out


def _base_end(info: ImageInfo, last: int | None) -> int | None:
    """Index of the base image's last history line: its closing CMD/ENTRYPOINT when it has
    one right above its last layer, else the line of that layer."""
    if last is None:
        return None
    below = 0
    end: int | None = None
    for i, entry in enumerate(info.config.history):
        if not entry.empty_layer:
            below += 1
            if below == last + 1:
                end = i
            elif below > last + 1:
                break
        elif below == last + 1 and _FINAL_STEP.match(entry.created_by.strip()):
            end = i
    return end
