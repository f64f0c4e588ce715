"""The dialogue detector streamed in pieces gives what one pass over the whole signal gives, and
its decisions, segments and channel choice are what the module says."""

import numpy as np
import pytest
import soundfile as sf
import torch

from dxkit.infer.detect import LEVEL_DB, MAX_GAIN_DB, Detector, decide, detect, detect_array, level_gain
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


def test_the_file_is_read_back_in_pieces_and_a_temporary_file_that_fails_is_one_error(tmp_path, monkeypatch):
    """The first pass keeps the voice in a temporary file; read back in pieces of any size it
    gives what one array gives. Where that file cannot be made, written or flushed (a full
    disk): OutputError, not OSError."""
    import errno
    import io
    from dxkit.deliver.errors import OutputError
    from dxkit.infer import detect as module
    rate = 44100
    x = (np.random.default_rng(4).standard_normal((2, 3 * rate)) * 0.05).astype(np.float32)
    sf.write(tmp_path / "take.wav", x.T, rate, subtype="FLOAT")
    net = untrained()
    monkeypatch.setattr(module, "SPOOL_SAMPLES", 7001)
    np.testing.assert_allclose(detect(tmp_path / "take.wav", net).probability,
                               detect_array(x, rate, net).probability, atol=1e-5)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    class FailsTo(io.BytesIO):
        def __init__(self, method: str) -> None:
            super().__init__()
            setattr(self, method, full)

    for make in (full, lambda: FailsTo("write"), lambda: FailsTo("flush")):
        monkeypatch.setattr(module.tempfile, "TemporaryFile", make)
        with pytest.raises(OutputError, match="temporary copy of the voice .*No space left on device"):
            detect(tmp_path / "take.wav", net)


def test_a_file_at_another_gain_is_heard_the_same(tmp_path):
    """Each file is brought to one loudness before the networks hear it (within MAX_GAIN_DB)."""
    rate = 48000
    x = (np.random.default_rng(2).standard_normal((2, 2 * rate)) * 0.05).astype(np.float32)
    net = untrained()
    loud = detect_array(x, rate, net).probability
    np.testing.assert_allclose(detect_array(x * 0.5, rate, net).probability, loud, atol=1e-4)
    sf.write(tmp_path / "quiet.wav", (x * 0.6).T, rate, subtype="FLOAT")
    np.testing.assert_allclose(detect(tmp_path / "quiet.wav", net).probability, loud, atol=1e-4)
    assert level_gain(LEVEL_DB - 60) == pytest.approx(10 ** (MAX_GAIN_DB / 20))
    assert level_gain(LEVEL_DB + 60) == pytest.approx(10 ** (-MAX_GAIN_DB / 20))
    assert level_gain(None) == 1.0


def test_short_and_silent_files_are_leveled_too(tmp_path):
    """Under one 400 ms gating block the plain mean power sets the gain; silence gets the most
    gain and stays silence."""
    rate = 48000
    x = (np.random.default_rng(3).standard_normal(int(0.3 * rate)) * 0.05).astype(np.float32)
    net = untrained()
    np.testing.assert_allclose(detect_array(x * 0.5, rate, net).probability, detect_array(x, rate, net).probability,
                               atol=1e-4)
    sf.write(tmp_path / "silent.wav", np.zeros(rate, np.float32), rate, subtype="FLOAT")
    silent = detect(tmp_path / "silent.wav", net)
    assert silent.probability.shape == (100,) and np.isfinite(silent.probability).all()


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


def speech_16k() -> np.ndarray:
    """The bundled example dialogue at 16 kHz, mono."""
    import soxr

    from pathlib import Path

    x, rate = sf.read(Path(__file__).resolve().parents[2] / "data" / "examples" / "dialogue.flac", dtype="float32")
    x = x.mean(axis=1) if x.ndim == 2 else x
    return soxr.resample(x, rate, 16000).astype(np.float32)


def test_silero_vad_in_torch_gives_the_packages_onnx_probabilities():
    """models/silero_vad.py with the shipped weights against silero-vad's own ONNX model, chunk
    by chunk as the package runs it, on real speech."""
    pytest.importorskip("onnxruntime")
    silero_vad = pytest.importorskip("silero_vad")
    from dxkit import models
    from dxkit.models.silero_vad import CHUNK, frame

    x = speech_16k()[:16000 * 12]
    x = x[:len(x) // CHUNK * CHUNK]
    reference = silero_vad.load_silero_vad(onnx=True)
    with torch.inference_mode():
        expected = reference.audio_forward(torch.from_numpy(x), 16000)[0].numpy()
        ours, _ = models.load("silero_vad")(frame(torch.from_numpy(x)))
    assert expected.max() > 0.9 and expected.min() < 0.1  # speech and pauses: the test can fail
    np.testing.assert_allclose(ours.numpy(), expected, atol=1e-4)


@pytest.mark.parametrize("pieces", [[10 ** 9], [1000, 7, 16000, 0, 5000, 333]])
def test_silero_vad_streamed_in_pieces_equals_one_pass(pieces):
    from dxkit import models
    from dxkit.infer.detect import SileroStream

    net = models.load("silero_vad")
    audio = speech_16k()[:16000 * 4 + 77]  # a part chunk at the end
    whole = SileroStream(net)
    whole.push(audio, last=True)
    stream, at = SileroStream(net, piece_chunks=5), 0
    for size in pieces:
        stream.push(audio[at:at + size])
        at += size
    stream.push(audio[at:], last=True)
    assert stream.result().shape == whole.result().shape == (len(audio) // HOP,)
    np.testing.assert_allclose(stream.result(), whole.result(), atol=1e-5)


def test_the_shipped_detector_is_the_lower_of_its_two_networks(tmp_path):
    from dxkit import models

    path = tmp_path / "take.wav"
    sf.write(path, speech_16k()[:16000 * 6], 16000)
    both = detect(path)
    alone = [detect(path, models.load(name)).probability for name in models.DETECTORS]
    np.testing.assert_array_equal(both.probability, np.minimum(*alone))
    assert 0.2 < both.fraction < 1.0
    np.testing.assert_array_equal(detect(path, either=True).probability, np.maximum(*alone))
