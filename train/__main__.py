"""``python -m dxkit.train key=value ...`` (also ``dxkit train``): the Hydra entry around fit."""

import sys

import hydra
from omegaconf import DictConfig

from dxkit.train.fit import fit


@hydra.main(version_base="1.3", config_path="pkg://dxkit.configs", config_name="train")
def main(cfg: DictConfig) -> None:
    try:
        path = fit(cfg)
    except ValueError as exc:  # a setting or input the user can fix: one line, not a traceback
        print(f"dxkit train: error: {exc}", file=sys.stderr)
        sys.exit(2)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
