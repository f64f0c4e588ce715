"""Running the networks: the streaming engine, the restore chain, batches over files and devices.

Jobs, settings and the parsing of a chain load no torch; the rest loads it on first use."""

from importlib import import_module

from .settings import (DEFAULT_CHAIN, DEFAULT_STRENGTH_DB, Job, Settings, parse_chain, parse_strength,
                       resolve_strength)

_LAZY = {"RestoreResult": "chain", "load_chain": "runner", "restore_file": "chain", "restore_files": "chain",
         "run_chain": "chain", "resolve_device": "devices", "Outcome": "runner"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_CHAIN", "DEFAULT_STRENGTH_DB", "Job", "Outcome", "RestoreResult", "Settings", "load_chain", "parse_chain",
           "parse_strength", "resolve_device", "resolve_strength", "restore_file", "restore_files", "run_chain"]
