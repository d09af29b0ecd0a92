"""The report's copy of the image config, with every secret the rules find masked: ENV values,
label values, entrypoint and cmd, and ``created_by`` in the history and in the layer list."""

from __future__ import annotations

from msgspec.structs import replace

from portcullis.analyze.secrets.matcher import Matcher
from portcullis.model.image import ImageInfo


def _label(matcher: Matcher, key: str, value: str) -> str:
    # Searched as KEY=value, as ENV is: a rule may need the name ("API_TOKEN=...").
    return matcher.redact(f"{key}={value}").partition("=")[2]


def redact_image(info: ImageInfo, matcher: Matcher) -> ImageInfo:
    config = info.config
    masked = replace(
        config,
        env=tuple(matcher.redact(e) for e in config.env),
        labels={k: _label(matcher, k, v) for k, v in config.labels.items()},
        entrypoint=tuple(matcher.redact(w) for w in config.entrypoint),
        cmd=tuple(matcher.redact(w) for w in config.cmd),
        history=tuple(replace(h, created_by=matcher.redact(h.created_by))
                      for h in config.history),
    )
    layers = tuple(replace(layer, created_by=matcher.redact(layer.created_by))
                   for layer in info.layers)
    return replace(info, config=masked, layers=layers)
