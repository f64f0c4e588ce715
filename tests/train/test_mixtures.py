"""Degradation synthesis: noise kinds, SNR and level, rooms and their early target, pops, loss."""

import numpy as np
import pytest
import torch

from dxkit.train import noise, plosives, rooms
from dxkit.train.corpus import load_folder
from dxkit.train.losses import SpectralLoss
from dxkit.train.metrics import band_pass
from dxkit.train.levels import active_rms
from dxkit.train.mixtures import MixSettings, Mixer, pause


@pytest.mark.parametrize("kind", sorted(noise.GENERATORS))
def test_every_noise_kind_is_finite_unit_rms_and_seeded(kind):
    gen = noise.GENERATORS[kind]
    a, b = gen(np.random.default_rng(5), 48000), gen(np.random.default_rng(5), 48000)
    assert np.array_equal(a, b) and np.isfinite(a).all()
    assert np.sqrt(np.mean(a.astype(np.float64) ** 2)) == pytest.approx(1.0, rel=1e-3)


def test_hum_is_tonal_at_the_mains_frequency():
    x = noise.hum(np.random.default_rng(1), 48000 * 2)
    spec = np.abs(np.fft.rfft(x))
    freqs = np.fft.rfftfreq(len(x), 1 / 48000)
    peak = freqs[np.argmax(spec[freqs < 400])]
    assert min(abs(peak - k * f) for f in (50, 60) for k in (1, 2, 3, 4, 5, 6, 7)) < 2


def test_denoise_examples_hit_the_asked_snr_and_level(speech_dir):
    clips = load_folder([speech_dir])
    settings = MixSettings(snr_db=(3.0, 3.0), level_dbfs=(-24.0, -24.0), p_eq=0, p_clip=0, p_reverb=0)
    ex = Mixer("denoise", clips, settings=settings).example(np.random.default_rng(0), 48000, clips[2])
    speech = ex.target
    assert 20 * np.log10(active_rms(speech)) == pytest.approx(-24.0, abs=0.01)
    noise_part = ex.noisy - speech
    snr = 20 * np.log10(active_rms(speech) / np.sqrt(np.mean(noise_part ** 2)))
    assert snr == pytest.approx(3.0, abs=0.01)
    assert ex.bandwidth_hz == 24000 and clips[0].bandwidth_hz == 8000


def test_a_pause_silences_one_stretch_with_fades_and_leaves_the_rest():
    speech = np.ones(48000, np.float32)
    out = pause(np.random.default_rng(3), speech, (0.4, 0.4))
    silent = np.flatnonzero(out == 0)
    assert len(silent) == 0.4 * 48000
    assert np.all(np.diff(silent) == 1)  # one stretch
    assert np.abs(np.diff(out)).max() < 0.01  # faded, no step
    assert np.sum(out == 1) > 48000 - 0.4 * 48000 - 2 * 480 - 2
    short = pause(np.random.default_rng(3), np.ones(4800, np.float32), (0.4, 0.4))
    assert np.sum(short == 0) == 2400  # at most half the segment


def test_paused_denoise_examples_hold_noise_alone_and_a_silent_target(speech_dir):
    clips = load_folder([speech_dir])
    settings = MixSettings(snr_db=(3.0, 3.0), p_eq=0, p_clip=0, p_reverb=0, p_pause=1.0, pause_s=(0.5, 0.5))
    ex = Mixer("denoise", clips, settings=settings).example(np.random.default_rng(0), 96000, clips[2])
    silent = ex.target == 0
    assert silent.sum() >= 0.5 * 48000 and np.abs(ex.noisy[silent]).max() > 0


def test_early_part_keeps_50_ms_after_the_direct_path():
    rir = rooms.normalise(rooms.simulate(np.random.default_rng(0), 0.8))
    early = rooms.early_part(rir)
    direct = int(np.argmax(np.abs(rir)))
    keep = direct + int(0.05 * 48000)
    assert np.array_equal(early[:keep], rir[:keep])
    assert not early[keep + 240:].any()
    tail = np.sum(rir[keep:] ** 2) / np.sum(rir ** 2)
    assert tail > 0.05  # an RT60 of 0.8 s leaves real energy after 50 ms


def test_pops_sit_at_onsets_in_the_low_band(speech_dir):
    clip = load_folder([speech_dir])[2]
    speech = clip.audio[:48000 * 2]
    popped, mask = plosives.add_pops(np.random.default_rng(3), speech, 3)
    assert mask.any() and np.array_equal(popped[~mask], speech[~mask])
    added = band_pass(popped - speech, 48000, 20, 200)
    total = np.sum((popped - speech) ** 2)
    assert np.sum(added ** 2) > 0.5 * total  # the pops' energy is mostly under 200 Hz
    local = np.mean(band_pass(speech, 48000, 20, 200)[mask] ** 2)
    assert 10 * np.log10(np.mean(added[mask] ** 2) / local) > 3


def test_loss_is_zero_on_a_match_and_ignores_bins_above_the_bandwidth():
    loss = SpectralLoss()
    torch.manual_seed(0)
    x = torch.randn(2, 9600) * 0.1
    hf = torch.tensor(band_pass(np.random.default_rng(0).standard_normal(9600), 48000, 12000, 20000).copy()).float()
    assert loss(x, x, torch.tensor([24000.0, 8000.0])) < 1e-8
    narrow = loss(x + hf, x, torch.tensor([8000.0, 8000.0]))
    wide = loss(x + hf, x, torch.tensor([24000.0, 24000.0]))
    assert narrow < 0.02 * wide


def test_si_sdr_term_matches_the_metric_and_ignores_bins_above_the_bandwidth():
    from dxkit.train.metrics import si_sdr

    rng = np.random.default_rng(1)
    ref = band_pass(rng.standard_normal(9600), 48000, 100, 6000)
    est = ref + 0.3 * band_pass(rng.standard_normal(9600), 48000, 100, 6000)
    hf = band_pass(rng.standard_normal(9600), 48000, 12000, 20000)
    tensors = [torch.tensor(np.stack([a, a]), dtype=torch.float32) for a in (est, ref, est + hf)]
    loss = SpectralLoss(si_sdr_weight=0.01)
    wide, narrow = torch.tensor([24000.0, 24000.0]), torch.tensor([8000.0, 8000.0])
    measured = loss.si_sdr_db(tensors[0], tensors[1], wide)
    assert abs(float(measured[0]) - si_sdr(ref, est)) < 0.05
    assert abs(float(loss.si_sdr_db(tensors[2], tensors[1], narrow)[0]) - float(measured[0])) < 0.05
    assert float(loss.si_sdr_db(tensors[2], tensors[1], wide)[0]) < float(measured[0]) - 1
    plain = SpectralLoss()(tensors[0], tensors[1], wide)
    assert abs(float(loss(tensors[0], tensors[1], wide) - plain) + 0.01 * float(measured.mean())) < 1e-5
    mixed = loss.si_sdr_db(tensors[2], tensors[1], torch.tensor([8000.0, 24000.0]))  # per row
    assert abs(float(mixed[0]) - float(measured[0])) < 0.05 and float(mixed[1]) < float(measured[0]) - 1


def test_si_sdr_term_leaves_out_near_silent_targets():
    rng = np.random.default_rng(2)
    ref = torch.tensor(band_pass(rng.standard_normal(9600), 48000, 100, 6000).copy(), dtype=torch.float32)
    est = ref + 0.3 * torch.tensor(band_pass(rng.standard_normal(9600), 48000, 100, 6000).copy(), dtype=torch.float32)
    wide = torch.tensor([24000.0, 24000.0])
    loss, plain = SpectralLoss(si_sdr_weight=0.01), SpectralLoss()
    estimates, targets = torch.stack([est, est]), torch.stack([ref, 1e-5 * ref])  # row 2: about -100 dBFS
    term = loss(estimates, targets, wide) - plain(estimates, targets, wide)
    assert abs(float(term) + 0.01 * float(loss.si_sdr_db(est[None], ref[None], wide[:1])[0])) < 1e-5
    assert float(loss(estimates, 1e-5 * targets, wide)) == float(plain(estimates, 1e-5 * targets, wide))


def test_babble_never_holds_the_voice_being_degraded():
    from dxkit.train.corpus import Clip

    t = np.arange(48000) / 48000
    a = Clip("a", np.sin(2 * np.pi * 1000 * t).astype(np.float32), 24000)
    b = Clip("b", np.sin(2 * np.pi * 3000 * t).astype(np.float32), 24000)
    babble = Mixer("denoise", [a, b]).babble(np.random.default_rng(0), 24000, exclude=a)
    spec = np.abs(np.fft.rfft(babble))
    assert spec[1000 // 2] < 1e-3 * spec[3000 // 2]


def test_simulated_rooms_are_the_same_for_the_same_seed():
    # pyroomacoustics' ray tracer has generators of its own: the test set's rooms must not vary
    first, second = rooms.bank(1, (0.3, 0.4), seed=7), rooms.bank(1, (0.3, 0.4), seed=7)
    assert np.array_equal(first[0], second[0])
