"""Typed errors of the delivery back end. Only the CLI turns them into messages and exit codes."""


class DxkitError(Exception):
    """Base of every error dxkit raises on purpose; the message is one line meant for a user."""


class AudioInputError(DxkitError):
    """The input cannot be used: missing, empty, not audio, truncated, NaN/Inf, unsupported."""


class OutputError(DxkitError):
    """The output cannot be written: bad path, missing or read-only folder, disk full."""


class SpecError(DxkitError):
    """A spec preset or a user's spec file is unknown or malformed."""
