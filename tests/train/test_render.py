"""The room and noise stage: one torch implementation, rendered in the loader or on the device."""

from types import SimpleNamespace

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf
from scipy import signal

from dxkit.train import render, rooms
from dxkit.train.corpus import load_folder
from dxkit.train.datamodule import MixtureData
from dxkit.train.dataset import MixtureStream
from dxkit.train.levels import active_rms, batch_active_rms
from dxkit.train.mixtures import MixSettings, Mixer


def test_convolve_is_the_first_samples_of_the_full_convolution():
    rng = np.random.default_rng(0)
    x, ir = rng.standard_normal(5000), rng.standard_normal(7000) * np.exp(-np.arange(7000) / 800)
    want = signal.fftconvolve(x, ir)[:5000]
    for convolve in (render.convolve, render.fft_convolve):  # the CPU's and the devices' way
        got = convolve(torch.tensor(x), torch.tensor(ir)).numpy()
        assert np.max(np.abs(got - want)) < 1e-9 * np.max(np.abs(want))
    assert torch.equal(render.convolve(torch.tensor(x), torch.tensor([0.5], dtype=torch.float64)),
                       torch.tensor(x) * 0.5)


def test_batch_convolve_copies_the_rows_without_a_room_and_convolves_the_others():
    rng = np.random.default_rng(1)
    x = torch.tensor(rng.standard_normal((4, 3000)))
    unit = torch.zeros(3000, dtype=torch.float64)
    unit[0] = 1.0
    room = torch.tensor(rng.standard_normal(3000) * np.exp(-np.arange(3000) / 300))
    for irs in ([unit, room, unit, 0.5 * unit], [unit] * 4, [room] * 4):
        got = render.batch_convolve(x, torch.stack(irs))
        for row, ir in zip(range(4), irs):
            want = signal.fftconvolve(x[row].numpy(), ir.numpy())[:3000]
            assert np.max(np.abs(got[row].numpy() - want)) < 1e-9 * np.max(np.abs(want))


def test_batch_active_rms_matches_each_row_and_ignores_pauses():
    t = np.arange(48000) / 48000
    tone = 0.1 * np.sin(2 * np.pi * 440 * t) * (t < 0.5)  # half a second of tone, then silence
    rows = torch.tensor(np.stack([tone, 2 * tone, np.zeros_like(tone)]))
    levels = batch_active_rms(rows)
    assert float(levels[0]) == pytest.approx(0.1 / np.sqrt(2), rel=1e-4)
    assert float(levels[1]) == pytest.approx(2 * active_rms(tone), rel=1e-9)
    assert float(levels[2]) == pytest.approx(1e-12)


@pytest.mark.parametrize("task", ["denoise", "dereverb"])
@pytest.mark.parametrize("convolution", ["cpu", "device"])
def test_device_rendering_gives_the_loader_examples(speech_dir, monkeypatch, task, convolution):
    clips = load_folder([speech_dir])
    bank = rooms.bank(3, (0.3, 0.8), seed=1)
    settings = MixSettings(p_reverb=1.0 if task == "denoise" else 0.3, p_clip=0.5)
    mixer = Mixer(task, clips, bank, settings=settings)
    loader = [next(iter(torch.utils.data.DataLoader(MixtureStream(mixer, 0.5, 4, recipes=r), batch_size=6)))
              for r in (False, True)]
    if convolution == "device":  # the batched torch FFT a GPU runs, here on the CPU
        monkeypatch.setattr(render, "convolve", render.batch_convolve)
    rendered = render.full_scale(*render.render(*loader[1][:7]))
    for want, got in zip(loader[0][:2], rendered):
        assert torch.max(torch.abs(want - got)) < 1e-5 * torch.max(torch.abs(want))
    assert torch.equal(loader[0][2], loader[1][7])
    assert not torch.allclose(loader[0][0], loader[0][1], atol=1e-3)  # there was noise to add


def _data(speech_dir, task, choice, device):
    cfg = OmegaConf.create({"task": task, "render": choice})
    data = MixtureData(cfg, 0)
    data.trainer = SimpleNamespace(strategy=SimpleNamespace(root_device=torch.device(device)))
    return data


def test_auto_renders_on_a_gpu_only_for_the_tasks_made_from_recipes(speech_dir):
    assert _data(speech_dir, "dereverb", "auto", "cuda").on_device()
    assert _data(speech_dir, "denoise", "auto", "cuda").on_device()
    assert not _data(speech_dir, "deplosive", "auto", "cuda").on_device()
    assert not _data(speech_dir, "dereverb", "auto", "cpu").on_device()
    assert not _data(speech_dir, "dereverb", "worker", "cuda").on_device()


def test_recipes_are_refused_for_tasks_that_need_the_room_first(speech_dir):
    with pytest.raises(ValueError, match="only denoise and dereverb render on the device"):
        _data(speech_dir, "deplosive", "device", "cuda").on_device()
    with pytest.raises(ValueError, match="made whole, not from a recipe"):
        Mixer("deplosive", load_folder([speech_dir])).recipe(np.random.default_rng(0), 4800)
