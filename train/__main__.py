"""``python -m dxkit.train key=value ...`` (also ``dxkit train``): the Hydra entry around fit."""

import hydra
from omegaconf import DictConfig

from dxkit.train.fit import fit


@hydra.main(version_base="1.3", config_path="pkg://dxkit.configs", config_name="train")
def main(cfg: DictConfig) -> None:
    print(f"wrote {fit(cfg)}")


if __name__ == "__main__":
    main()
