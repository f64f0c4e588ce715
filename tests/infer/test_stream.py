"""The streaming engine: chunked output equals the whole-signal network, with no seams."""

import numpy as np
import pytest
import torch

from dxkit import models
from dxkit.infer.stream import Stream, run_whole
from dxkit.models.bandnet import BandNet
from signals import programme


@pytest.fixture(scope="module")
def nets():
    torch.manual_seed(3)
    other = BandNet(hidden=16, layers=2, df_bins=12, df_order=3, bands=16, lookahead=2).eval()
    for p in other.df_head.parameters():
        torch.nn.init.normal_(p, std=0.05)
    return [models.load("debug"), other]


def whole(nets, audio, strength=(None, None)):
    x = torch.from_numpy(audio)
    with torch.inference_mode():
        for net, limit in zip(nets, strength):
            x = net(x, strength_db=limit)
    return x.numpy()


@pytest.mark.parametrize("chunk_frames,push", [(100, 48000), (7, 4801), (1, 333), (50, 10 ** 6)])
def test_streamed_equals_whole_signal_at_any_chunk_and_push_size(nets, chunk_frames, push):
    audio = programme(2.5, 48000, channels=2)[:, :119_999]  # not a whole number of hops
    ref = whole(nets, audio, (None, 9.0))
    out = run_whole(Stream(nets, [None, 9.0], chunk_frames=chunk_frames), audio, push)
    assert out.shape == audio.shape
    assert np.max(np.abs(out - ref)) < 1e-4
    # no seams: at the chunk borders the error is no larger than anywhere else
    hop = nets[0].hop
    borders = np.arange(chunk_frames, audio.shape[1] // hop, chunk_frames) * hop
    near = np.concatenate([np.abs(out - ref)[:, max(b - 2, 0):b + 2].ravel() for b in borders]) \
        if borders.size else np.zeros(1)
    assert near.max() < 1e-4


def test_lanes_of_different_lengths_share_batches_without_mixing(nets):
    stream = Stream(nets, chunk_frames=10)
    rng = np.random.default_rng(1)
    signals = [(0.1 * rng.standard_normal(int(s * 48000))).astype(np.float32) for s in (0.3, 1.7, 1.1)]
    lanes = [stream.open(s.size) for s in signals]
    outs = [[] for _ in signals]
    late = stream.open(4800)  # joins after the others have started
    late_signal = (0.1 * rng.standard_normal(4800)).astype(np.float32)
    late_out = []
    for start in range(0, 17 * 4800 + 1, 4800):
        for lane, s, out in zip(lanes, signals, outs):
            if start < s.size:
                stream.push(lane, s[start:start + 4800], last=start + 4800 >= s.size)
        if start == 9600:
            stream.push(late, late_signal, last=True)
        stream.run()
        for lane, out in zip(lanes, outs):
            out.append(stream.take(lane))
        late_out.append(stream.take(late))
    for s, out, lane in zip(signals, outs, lanes):
        assert lane.done
        got = np.concatenate(out)
        assert np.max(np.abs(got - whole(nets, s[None])[0])) < 1e-4
    assert np.max(np.abs(np.concatenate(late_out) - whole(nets, late_signal[None])[0])) < 1e-4


def test_a_transparent_network_streams_a_sine_without_clicks():
    net = BandNet(hidden=8, layers=1, df_bins=8, df_order=2, bands=16).eval()
    with torch.no_grad():
        net.gain_head.weight.zero_()
        net.gain_head.bias.fill_(30.0)
    t = np.arange(48000 * 2) / 48000
    tone = (0.5 * np.sin(2 * np.pi * 997 * t)).astype(np.float32)[None]
    out = run_whole(Stream([net], chunk_frames=3), tone, 1000)
    assert np.max(np.abs(out - tone)) < 1e-4


def test_half_precision_needs_cuda(nets):
    with pytest.raises(ValueError, match="CUDA"):
        Stream(nets, device="cpu", precision="bf16")
