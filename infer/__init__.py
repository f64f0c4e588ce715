"""Running the networks: the streaming engine, the restore chain, batches over files and devices."""

from .chain import (DEFAULT_CHAIN, RestoreResult, load_chain, parse_chain, parse_strength, restore_file,
                    restore_files, run_chain)
from .devices import resolve_device
from .runner import Job, Outcome, Settings

__all__ = ["DEFAULT_CHAIN", "Job", "Outcome", "RestoreResult", "Settings", "load_chain", "parse_chain",
           "parse_strength", "resolve_device", "restore_file", "restore_files", "run_chain"]
