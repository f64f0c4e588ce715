"""The Lightning datamodules: read the corpus, simulate or read rooms, stream examples."""

from __future__ import annotations

import lightning as L
import torch
from omegaconf import DictConfig
from torch.utils.data import DataLoader

from . import render, rooms
from .corpus import load_folder, read_exclusions
from .activity import ActivityMixer, ActivitySettings
from .dataset import ActivityStream, MixtureStream
from .mixtures import MixSettings, Mixer


def settings_from(cfg: DictConfig) -> MixSettings:
    """The mixture ranges of a ``data`` config."""
    kinds = cfg.get("noise_kinds")
    return MixSettings(snr_db=tuple(cfg.snr_db), level_dbfs=tuple(cfg.level_dbfs), p_eq=cfg.p_eq,
                       p_clip=cfg.p_clip, p_reverb=cfg.p_reverb,
                       residual_snr_db=tuple(cfg.residual_snr_db), pops=tuple(cfg.pops),
                       pop_gain_db=tuple(cfg.pop_gain_db), p_noisy_pops=cfg.p_noisy_pops,
                       p_user_noise=cfg.p_user_noise,
                       noise_kinds=tuple(kinds) if kinds else None,
                       augment_noise=cfg.augment_noise, p_band_limit=cfg.p_band_limit,
                       band_limits_hz=tuple(cfg.band_limits_hz),
                       p_noise_band_limit=cfg.p_noise_band_limit,
                       noise_band_limit_hz=tuple(cfg.noise_band_limit_hz),
                       p_pause=cfg.p_pause, pause_s=tuple(cfg.pause_s))


def room_bank(cfg: DictConfig, seed: int, exclude: set[str] = frozenset()) -> list:
    """The measured RIRs under ``cfg.rir_dirs`` (but those in ``exclude``) and ``cfg.rooms``
    simulated ones."""
    measured = rooms.measured(list(cfg.rir_dirs), exclude) if cfg.rir_dirs else []
    if cfg.rooms <= 0:
        return measured
    where = f"cached in {cfg.rir_cache} after the first run" if cfg.rir_cache else "not cached: rir_cache is null"
    print(f"data: {cfg.rooms} simulated rooms ({where})", flush=True)
    return measured + rooms.bank(cfg.rooms, tuple(cfg.rt60_s), seed, cfg.rir_cache)


def optional_clips(cfg: DictConfig, key: str, exclude: set[str]) -> list:
    """The clips under the folders ``cfg[key]`` lists, none where it lists none."""
    return load_folder(list(cfg[key]), exclude) if cfg.get(key) else []


def minutes(clips: list) -> float:
    return sum(len(c.audio) for c in clips) / 48000 / 60


class MixtureData(L.LightningDataModule):
    def __init__(self, cfg: DictConfig, seed: int) -> None:
        super().__init__()
        self.cfg, self.seed = cfg, seed
        self.mixer: Mixer | None = None
        self.recipes = False  # whether training batches arrive as recipes to render

    def setup(self, stage: str | None = None) -> None:
        if self.mixer is not None:
            return
        cfg = self.cfg
        exclude = read_exclusions(cfg.exclude)
        print("data: reading speech, noise and rooms", flush=True)
        speech = load_folder(list(cfg.speech_dirs), exclude)
        noise = optional_clips(cfg, "noise_dirs", exclude)
        bank = room_bank(cfg, self.seed, exclude)
        self.mixer = Mixer(cfg.task, speech, bank, noise, settings_from(cfg))
        print(f"data: {len(speech)} speech files ({minutes(speech):.1f} min), {len(noise)} noise files "
              f"({minutes(noise):.1f} min), {len(bank)} rooms ({len(bank) - max(cfg.rooms, 0)} measured); "
              f"{len(exclude)} names left out", flush=True)

    def on_device(self) -> bool:
        """Whether the room and noise are rendered on the training device (``data.render``:
        ``device``, ``worker``, or ``auto``, which is the device when it is not the CPU and the
        task allows it)."""
        choice, task = self.cfg.get("render", "auto"), self.cfg.task
        if choice not in ("auto", "device", "worker"):
            raise ValueError(f"data.render={choice}: use auto, device or worker")
        if choice == "device" and task not in render.RECIPE_TASKS:
            raise ValueError(f"data.render=device: {task} examples are made whole in the loader; "
                             f"only {' and '.join(render.RECIPE_TASKS)} render on the device")
        if choice == "auto":
            device = self.trainer.strategy.root_device if self.trainer else torch.device("cpu")
            return device.type != "cpu" and task in render.RECIPE_TASKS
        return choice == "device"

    def train_dataloader(self) -> DataLoader:
        rank = self.trainer.global_rank if self.trainer else 0
        self.recipes = self.on_device()
        stream = MixtureStream(self.mixer, self.cfg.seconds, self.seed, rank, recipes=self.recipes)
        workers = self.cfg.num_workers
        return DataLoader(stream, batch_size=self.cfg.batch_size, num_workers=workers,
                          persistent_workers=workers > 0)

    def on_after_batch_transfer(self, batch, dataloader_idx: int):
        """Renders a training batch of recipes where it now is (the training device), in float32
        whatever precision Lightning converted the inputs to, and hands it on in that dtype."""
        if not self.recipes or self.trainer is None or not self.trainer.training:
            return batch
        *recipe, bandwidth = batch
        dtype = recipe[0].dtype
        noisy, target = render.full_scale(*render.render(*(x.float() for x in recipe)))
        return noisy.to(dtype), target.to(dtype), bandwidth


class ActivityData(L.LightningDataModule):
    """Examples for the dialogue detector: speech, noise and music folders, and rooms."""

    def __init__(self, cfg: DictConfig, seed: int) -> None:
        super().__init__()
        self.cfg, self.seed = cfg, seed
        self.mixer: ActivityMixer | None = None

    def setup(self, stage: str | None = None) -> None:
        if self.mixer is not None:
            return
        cfg = self.cfg
        exclude = read_exclusions(cfg.exclude)
        print("data: reading speech, noise, music and rooms", flush=True)
        speech = load_folder(list(cfg.speech_dirs), exclude)
        noise = optional_clips(cfg, "noise_dirs", exclude)
        music = optional_clips(cfg, "music_dirs", exclude)
        bank = room_bank(cfg, self.seed, exclude)
        settings = ActivitySettings(snr_db=tuple(cfg.snr_db), level_dbfs=tuple(cfg.level_dbfs),
                                    p_no_speech=cfg.p_no_speech, p_babble=cfg.p_babble,
                                    babble_snr_db=tuple(cfg.babble_snr_db), p_music=cfg.p_music,
                                    p_real_music=cfg.p_real_music,
                                    p_reverb=cfg.p_reverb, p_band_limit=cfg.p_band_limit)
        self.mixer = ActivityMixer(speech, noise, music, bank, settings)
        print(f"data: {len(speech)} speech files ({minutes(speech):.1f} min), {len(noise)} noise files "
              f"({minutes(noise):.1f} min), {len(music)} music files ({minutes(music):.1f} min), "
              f"{len(bank)} rooms; {len(exclude)} names left out", flush=True)

    def train_dataloader(self) -> DataLoader:
        rank = self.trainer.global_rank if self.trainer else 0
        stream = ActivityStream(self.mixer, self.cfg.seconds, self.seed, rank)
        workers = self.cfg.num_workers
        return DataLoader(stream, batch_size=self.cfg.batch_size, num_workers=workers,
                          persistent_workers=workers > 0)
