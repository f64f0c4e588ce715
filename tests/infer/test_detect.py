"""The dialogue detector streamed in pieces gives what one pass over the whole signal gives, and
its decisions, segments and channel choice are what the module says."""

import numpy as np
import pytest
import soundfile as sf
import torch

from dxkit.infer.detect import Detector, decide, detect, detect_array
from dxkit.models.activity import HOP, ActivityNet


def untrained() -> ActivityNet:
    torch.manual_seed(0)
    return ActivityNet(bands=16, channels=8, dilations=(1, 2, 4)).eval()


@pytest.mark.parametrize("length", [16000 * 3, 16000 * 3 + 77])  # whole frames, and a part frame at the end
@pytest.mark.parametrize("pieces", [[10 ** 9], [1000, 7, 16000, 0, 5000]])
def test_pieces_equal_one_pass(length, pieces):
    net = untrained()
    audio = np.random.default_rng(0).standard_normal(length).astype(np.float32) * 0.1
    with torch.inference_mode():
        whole = torch.sigmoid(net(torch.from_numpy(audio)[None])[0]).numpy()
    detector = Detector(net, piece_frames=37)
    at = 0
    for size in pieces:
        detector.push(audio[at:at + size])
        at += size
    detector.push(audio[at:], last=True)
    streamed = detector.result()
    assert streamed.shape == (length // HOP,)
    np.testing.assert_allclose(streamed, whole, atol=1e-5)


def test_decisions_fill_gaps_and_drop_blips():
    p = np.zeros(100, np.float32)
    p[10:30] = p[40:60] = 0.9  # two lines 100 ms apart: one line
    p[80:85] = 0.9  # 50 ms: a click
    active = decide(p)
    assert active[10:60].all() and not active[:10].any() and not active[60:].any()


def test_the_file_and_the_array_agree_and_5_1_listens_to_the_centre(tmp_path):
    rate = 48000
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((6, 2 * rate)) * 0.05).astype(np.float32)
    path = tmp_path / "six.wav"
    sf.write(path, x.T, rate, subtype="FLOAT")
    net = untrained()
    from_file = detect(path, net)
    assert from_file.probability.shape == (200,)
    np.testing.assert_allclose(from_file.probability, detect_array(x, rate, net).probability, atol=1e-5)
    np.testing.assert_allclose(from_file.probability, detect_array(x[2], rate, net).probability, atol=1e-5)


def test_cli_detect_prints_stretches_and_refuses_what_is_not_a_detector(tmp_path, capsys):
    import json

    from dxkit import models
    from dxkit.cli import main

    weights = tmp_path / "tiny.safetensors"
    models.save(untrained(), weights, "activity", {"bands": 16, "channels": 8, "dilations": [1, 2, 4]})
    take = tmp_path / "take.wav"
    sf.write(take, np.random.default_rng(2).standard_normal(48000).astype(np.float32) * 0.1, 48000)
    assert main(["detect", str(take), "--json", "--network", str(weights)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data) == {"file", "network", "frame_s", "dialogue_fraction", "segments"}
    assert 0.0 <= data["dialogue_fraction"] <= 1.0
    assert all(0 <= s["start_s"] < s["end_s"] <= 1.0 for s in data["segments"])
    assert main(["detect", str(take), "--network", str(tmp_path / "none.safetensors")]) == 2
    assert "no such weights file" in capsys.readouterr().err
    assert main(["detect", str(take), "--network", "denoise"]) == 2
    assert "not a dialogue detector" in capsys.readouterr().err
