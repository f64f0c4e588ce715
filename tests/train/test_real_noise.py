"""Real noise in training, band limits and measured rooms: what issue 11 added to the synthesis."""

from pathlib import Path

import numpy as np
import pytest
import torch

from dxkit.train import real_noise, render, rooms
from dxkit.train.corpus import RATE, Clip, load_folder
from dxkit.train.levels import active_rms
from dxkit.train.mixtures import MixSettings, Mixer


def spectrum_above(x: np.ndarray, hz: float) -> float:
    """Share of ``x``'s energy above ``hz``."""
    power = np.abs(np.fft.rfft(x)) ** 2
    freqs = np.fft.rfftfreq(len(x), 1 / RATE)
    return float(power[freqs > hz].sum() / power.sum())


def test_band_limit_cuts_each_row_at_its_own_frequency_and_leaves_the_band_below():
    rng = np.random.default_rng(0)
    x = torch.tensor(rng.standard_normal((3, 48000)), dtype=torch.float32)
    out = render.band_limit(x, torch.tensor([4000.0, 0.0, 11025.0]))
    assert torch.equal(out[1], x[1])  # 0: untouched
    for row, cut in ((0, 4000.0), (2, 11025.0)):
        assert spectrum_above(out[row].numpy(), cut) < 1e-6
        below = lambda y: np.abs(np.fft.rfft(y))[:int(0.9 * cut)]  # noqa: E731 (1 Hz bins)
        assert np.allclose(below(out[row].numpy()), below(x[row].numpy()), rtol=1e-3, atol=1e-2)


def clips(seconds: float = 3.0) -> list[Clip]:
    rng = np.random.default_rng(1)
    t = np.arange(int(seconds * RATE)) / RATE
    hum = np.sin(2 * np.pi * 120 * t) + 0.3 * np.sin(2 * np.pi * 360 * t)
    hiss = rng.standard_normal(len(t))
    return [Clip("hum", hum.astype(np.float32), 24000.0), Clip("hiss", hiss.astype(np.float32), 24000.0)]


def test_real_noise_draws_are_unit_rms_seeded_and_varied():
    bank = clips()
    a = real_noise.draw(np.random.default_rng(3), bank, 96000)
    b = real_noise.draw(np.random.default_rng(3), bank, 96000)
    assert np.array_equal(a, b) and len(a) == 96000 and np.isfinite(a).all()
    assert np.sqrt(np.mean(a.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-3)
    draws = [real_noise.draw(np.random.default_rng(s), bank, 48000) for s in range(12)]
    assert len({round(float(spectrum_above(d, 1000)), 3) for d in draws}) > 6  # not one sound repeated


def test_a_speed_change_moves_the_pitch_of_a_recording():
    hum = clips()[0]
    peaks = set()
    for seed in range(30):
        x = real_noise.one(np.random.default_rng(seed), hum, 48000)
        spec = np.abs(np.fft.rfft(x))
        peaks.add(int(round(np.fft.rfftfreq(len(x), 1 / RATE)[np.argmax(spec)])))
    assert 120 in peaks and len(peaks) >= 3 and all(90 <= p <= 160 for p in peaks)


@pytest.mark.parametrize("seed", range(5))
def test_splicing_joins_pieces_without_a_jump(seed):
    t = np.arange(48000) / 48000
    triangle = (1 - 2 * np.abs(t - 0.5)).astype(np.float32)  # loops without a jump; a cut shows as one
    out = real_noise.splice(np.random.default_rng(seed), triangle, 24000, 3)
    assert len(out) == 24000 and np.max(np.abs(np.diff(out))) < 0.01
    hard_cut = np.concatenate([triangle[:12000], triangle[30000:42000]])
    assert np.max(np.abs(np.diff(hard_cut))) > 0.1  # what a join without the crossfade looks like


def test_band_limited_examples_limit_input_target_and_bandwidth_together(speech_dir):
    speech = load_folder([speech_dir])
    settings = MixSettings(p_reverb=0, p_clip=0, p_band_limit=1.0, band_limits_hz=(4000.0,))
    mixer = Mixer("denoise", speech, settings=settings)
    ex = mixer.example(np.random.default_rng(0), 48000, speech[2])  # a 48 kHz clip
    assert ex.bandwidth_hz == 4000.0
    assert spectrum_above(ex.noisy, 4000) < 1e-6 and spectrum_above(ex.target, 4000) < 1e-6
    # a cut above the speech's own bandwidth becomes the speech's bandwidth
    wide = Mixer("denoise", speech, settings=MixSettings(p_band_limit=1.0, band_limits_hz=(16000.0,)))
    ex = wide.example(np.random.default_rng(0), 48000, speech[0])  # a 16 kHz clip
    assert ex.bandwidth_hz == 8000.0 and spectrum_above(ex.noisy, 8000) < 1e-6


def test_noise_alone_can_be_band_limited_under_full_band_speech(speech_dir):
    speech = load_folder([speech_dir])
    settings = MixSettings(p_reverb=0, p_clip=0, snr_db=(0.0, 0.0), p_noise_band_limit=1.0,
                           noise_band_limit_hz=(3000.0, 3000.0), noise_kinds=("coloured",))
    ex = Mixer("denoise", speech, settings=settings).example(np.random.default_rng(0), 48000, speech[2])
    noise = ex.noisy - ex.target
    assert ex.bandwidth_hz == 24000.0 and spectrum_above(noise, 3000) < 1e-6
    assert 20 * np.log10(active_rms(ex.target) / np.sqrt(np.mean(noise ** 2))) == pytest.approx(0.0, abs=0.01)


def test_real_recordings_are_used_as_they_are_unless_augmented(speech_dir):
    speech, bank = load_folder([speech_dir]), clips()
    plain = Mixer("denoise", speech, noise_clips=bank[:1], settings=MixSettings(p_user_noise=1.0))
    x = plain.noise(np.random.default_rng(0), 48000)
    spec = np.abs(np.fft.rfft(x))
    assert np.fft.rfftfreq(48000, 1 / RATE)[np.argmax(spec)] == 120  # the hum, at its own pitch


def test_measured_rooms_are_aligned_on_their_direct_path():
    rir = np.zeros(48000, np.float32)
    rir[9000], rir[9500:20000] = 1.0, 0.1 * np.random.default_rng(0).standard_normal(10500)
    aligned = rooms.align(rir)
    assert int(np.argmax(np.abs(aligned))) == int(rooms.LEAD_S * RATE)
    assert np.array_equal(aligned[120:], rir[9000:])


def test_the_exclusion_list_keeps_test_noise_and_rooms_out_of_training(tmp_path, speech_dir):
    import soundfile as sf
    from omegaconf import OmegaConf

    from dxkit.train.datamodule import MixtureData

    rng = np.random.default_rng(0)
    for folder in ("noise", "rirs"):
        (tmp_path / folder).mkdir()
        for name in ("kept", "held"):
            audio = rng.standard_normal(48000) * np.exp(-np.arange(48000) / 4800)
            sf.write(tmp_path / folder / f"{folder}_{name}.wav", audio.astype(np.float32), 48000)
    (tmp_path / "heldout.txt").write_text("# the test set\nnoise_held.wav\nrirs_held.wav\n")
    cfg = OmegaConf.load(Path(__file__).parents[2] / "configs" / "data" / "denoise.yaml")
    cfg.merge_with({"speech_dirs": [str(speech_dir)], "noise_dirs": [str(tmp_path / "noise")],
                    "rir_dirs": [str(tmp_path / "rirs")], "exclude": str(tmp_path / "heldout.txt"),
                    "rooms": 0})
    data = MixtureData(cfg, 0)
    data.setup()
    assert [c.name for c in data.mixer.noise_clips] == ["noise_kept.wav"]
    assert len(data.mixer.rirs) == 1
