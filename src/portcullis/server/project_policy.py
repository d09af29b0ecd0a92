"""A project's policy: YAML text in docs/policy.md's form that every pipeline of the project
applies (the CLI fetches it with ``scan --upload --token``). It is checked with the CLI's own
parser when it is saved, so a pipeline never fetches a policy it cannot read."""

from __future__ import annotations

from portcullis.errors import PolicyError
from portcullis.policy.load import parse_policy

MAX_POLICY_CHARS = 256 * 1024
SOURCE = "project-policy.yaml"  # the name messages point into: "project-policy.yaml:7: ..."


def checked(text: str) -> str | None:
    """The policy to store (None: the project has none), or a PolicyError with the line."""
    text = text.replace("\r\n", "\n")
    if not text.strip():
        return None
    if len(text) > MAX_POLICY_CHARS:
        raise PolicyError(f"the policy is longer than {MAX_POLICY_CHARS} characters")
    parse_policy(text, SOURCE)
    return text
