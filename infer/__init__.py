"""Running the networks: the restore chain (whole file, for now; streaming and batch later)."""

from .chain import (DEFAULT_CHAIN, RestoreResult, load_chain, parse_chain, parse_strength, restore_file,
                    run_chain)

__all__ = ["DEFAULT_CHAIN", "RestoreResult", "load_chain", "parse_chain", "parse_strength", "restore_file", "run_chain"]
