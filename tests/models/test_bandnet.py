"""BandNet: perfect reconstruction, no added delay, causality, streaming state, strength, size."""

import math
from pathlib import Path

import pytest
import torch
import yaml

from dxkit.models.bandnet import BandNet
from dxkit.models.erb import band_widths

CONFIGS = Path(__file__).parents[2] / "configs" / "model"


def _transparent(**kw) -> BandNet:
    """A BandNet whose gains are 1 and whose deep filter is the identity."""
    net = BandNet(**kw).eval()
    with torch.no_grad():
        net.gain_head.weight.zero_()
        net.gain_head.bias.fill_(30.0)  # sigmoid(30) = 1 - 1e-13
    return net


def _silencer(**kw) -> BandNet:
    """A BandNet that outputs (nearly) nothing: every band gain is 0."""
    net = BandNet(**kw).eval()
    with torch.no_grad():
        net.gain_head.weight.zero_()
        net.gain_head.bias.fill_(-30.0)
    return net


def test_erb_bands_cover_every_bin_at_least_two_wide():
    widths = band_widths(481, 48000, 32)
    assert sum(widths) == 481 and min(widths) >= 2 and len(widths) == 32
    assert widths[0] < widths[-1]  # ERB spacing: narrow low, wide high


@pytest.mark.parametrize("length", [48000, 48000 + 123, 959])
@pytest.mark.parametrize("lookahead", [0, 2])
def test_transparent_network_returns_the_input_exactly_aligned(length, lookahead):
    torch.manual_seed(0)
    x = torch.randn(2, length) * 0.1
    with torch.no_grad():
        y = _transparent(lookahead=lookahead)(x)
    assert y.shape == x.shape
    assert torch.max(torch.abs(y - x)) < 1e-5


def test_strength_limits_the_attenuation():
    torch.manual_seed(0)
    x = torch.randn(1, 24000) * 0.1
    with torch.no_grad():
        full = _silencer()(x)
        limited = _silencer()(x, strength_db=6.0)
    assert torch.sqrt(torch.mean(full ** 2)) < 1e-4
    ratio = torch.sqrt(torch.mean(limited ** 2) / torch.mean(x ** 2))
    assert ratio == pytest.approx(10 ** (-6 / 20), rel=1e-3)


@pytest.mark.parametrize("frames", [0, 2])
def test_output_depends_on_input_no_further_ahead_than_the_window_and_the_lookahead(frames):
    torch.manual_seed(1)
    net = BandNet(hidden=16, layers=1, lookahead=frames).eval()
    for p in net.df_head.parameters():
        torch.nn.init.normal_(p, std=0.1)
    x = torch.randn(1, 48000) * 0.1
    changed = x.clone()
    changed[:, 30000:] = torch.randn(1, 18000)
    with torch.no_grad():
        a, b = net(x), net(changed)
    ahead = 960 + frames * 480  # one 20 ms window and the look-ahead's frames
    assert torch.equal(a[:, :30000 - ahead], b[:, :30000 - ahead])
    # the whole look-ahead is used: the frame whose future the change enters moves
    assert not torch.equal(a[:, 30000 - ahead:30000 - ahead + 480], b[:, 30000 - ahead:30000 - ahead + 480])


@pytest.mark.parametrize("lookahead", [0, 2])
def test_state_carried_across_chunks_equals_one_pass(lookahead):
    torch.manual_seed(2)
    net = BandNet(hidden=16, layers=2, df_order=3, lookahead=lookahead).eval()
    for p in net.df_head.parameters():
        torch.nn.init.normal_(p, std=0.1)
    spec = net.stft(torch.randn(2, 48000) * 0.1)
    with torch.no_grad():
        whole, _ = net.enhance(spec)
        state, parts = None, []
        for start in range(0, spec.shape[1], 17):
            out, state = net.enhance(spec[:, start:start + 17], state)
            parts.append(out)
    assert torch.allclose(torch.cat(parts, dim=1), whole, atol=1e-6)


@pytest.mark.parametrize("name", ["denoise", "dereverb", "deplosive"])
def test_shipped_architectures_fit_the_size_budget(name):
    cfg = yaml.safe_load((CONFIGS / f"{name}.yaml").read_text())
    net = BandNet(**cfg["args"])
    params = sum(p.numel() for p in net.parameters())
    assert params <= 2.5e6
    assert (net.n_fft + net.lookahead * net.hop) / 48000 <= 0.040  # look-ahead: window and frames


def test_refuses_other_rates():
    with pytest.raises(ValueError):
        BandNet(sample_rate=44100)
    assert math.isclose(BandNet().n_fft / BandNet().sample_rate, 0.02)


def test_every_gain_the_network_predicts_is_trained_by_16k_targets():
    """Bands reaching above gain_top_hz reuse a trained band's gain, so no output row is left
    without gradient when targets carry 16 kHz of bandwidth (32 kHz speech)."""
    from dxkit.train.losses import SpectralLoss

    torch.manual_seed(0)
    net = BandNet(hidden=16, layers=1)
    x = torch.randn(2, 24000) * 0.1
    SpectralLoss()(net(x), x * 0.5, torch.tensor([16000.0, 16000.0])).backward()
    per_row = net.gain_head.weight.grad.abs().sum(dim=1)
    assert (per_row > 1e-3 * per_row.median()).all()


def test_runs_under_bf16_autocast():
    net = BandNet(hidden=16, layers=1)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        y = net(torch.randn(1, 9600) * 0.1)
    assert torch.isfinite(y).all() and y.shape == (1, 9600)


def test_fp16_autocast_keeps_silence_and_loud_pops_finite():
    from dxkit import models

    net = models.load("debug")
    wave = torch.zeros(1, 48000 * 2)
    t = torch.arange(1200) / 48000
    wave[0, 60000:61200] = 0.95 * torch.sin(2 * torch.pi * 60 * t)  # a loud low bump after silence
    with torch.inference_mode(), torch.autocast("cpu", dtype=torch.float16):
        out = net(wave)
    assert torch.isfinite(out).all()
