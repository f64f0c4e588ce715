"""dxkit restore: 48 kHz float WAV at the input's length and level, aligned, atomic, clear errors."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from dxkit import models
from dxkit.infer import parse_chain, parse_strength, resolve_strength, restore_file, run_chain
from dxkit.models.bandnet import BandNet
from signals import programme, write


@pytest.fixture(scope="module")
def transparent(tmp_path_factory) -> str:
    """A weights file for a BandNet that passes audio through unchanged."""
    net = BandNet(hidden=8, layers=1, df_bins=8, df_order=2, bands=16)
    with torch.no_grad():
        net.gain_head.weight.zero_()
        net.gain_head.bias.fill_(30.0)
    path = tmp_path_factory.mktemp("w") / "transparent.safetensors"
    models.save(net, path, "bandnet", {"hidden": 8, "layers": 1, "df_bins": 8, "df_order": 2, "bands": 16})
    return str(path)


@pytest.mark.parametrize("rate,channels,subtype", [(48000, 1, "FLOAT"), (44100, 2, "PCM_24"), (16000, 1, "PCM_16")])
def test_restored_file_keeps_the_inputs_rate_depth_length_and_alignment(tmp_path, transparent, rate, channels, subtype):
    """--spec none replaces the take in its session: the networks run at 48 kHz inside and the
    file comes back at the input's rate and depth, as long, not delayed."""
    src = Path(write(tmp_path / "in.wav", programme(3.0, rate, channels=channels), rate, subtype))
    out = tmp_path / "out.wav"
    result = restore_file(src, out, [transparent])
    info = sf.info(out)
    assert (info.samplerate, info.subtype, info.channels, info.frames) == (rate, subtype, channels, sf.info(src).frames)
    restored, _ = sf.read(out, always_2d=True)
    original, _ = sf.read(src, always_2d=True)
    lags = range(-5, 6)
    scores = [np.dot(np.roll(restored[:, 0], k), original[:, 0]) for k in lags]
    assert lags[int(np.argmax(scores))] == 0
    middle = slice(rate // 10, -rate // 10)  # the resamplers' edges aside
    assert np.max(np.abs(restored[middle] - original[middle])) < (1e-4 if rate == 48000 else 2e-3)
    assert result.seconds_audio == pytest.approx(3.0, abs=0.01)


def test_bit_depth_can_be_chosen(tmp_path, transparent):
    src = Path(write(tmp_path / "in.wav", programme(1.0, 48000, channels=1), 48000, "PCM_16"))
    for choice, subtype in (("float", "FLOAT"), ("24", "PCM_24"), ("same", "PCM_16")):
        restore_file(src, tmp_path / f"{choice}.wav", [transparent], bit_depth=choice)
        assert sf.info(tmp_path / f"{choice}.wav").subtype == subtype


def test_chain_runs_in_the_order_given_and_strength_reaches_the_network(tmp_path, transparent):
    other = tmp_path / "other.safetensors"
    torch.manual_seed(5)
    args = {"hidden": 8, "layers": 1, "df_bins": 8, "df_order": 2, "bands": 16}
    models.save(BandNet(**args), other, "bandnet", args)
    x = programme(1.0, 48000, channels=1).astype(np.float32)
    one = run_chain(x, 48000, ["debug"])
    assert np.allclose(run_chain(x, 48000, [transparent, "debug"]), one, atol=1e-5)
    assert not np.allclose(run_chain(x, 48000, ["debug", str(other)]),
                           run_chain(x, 48000, [str(other), "debug"]), atol=1e-4)
    limited = run_chain(x, 48000, ["debug"], {"debug": 3.0})
    assert not np.allclose(limited, one, atol=1e-4)


def test_parse_chain_and_strength(tmp_path):
    assert parse_chain("deplosive, denoise") == ["deplosive", "denoise"]
    assert parse_strength("denoise=12", ["denoise"]) == {"denoise": 12.0}
    for bad in ("", "denoise,denoise"):
        with pytest.raises(ValueError):
            parse_chain(bad)
    for bad in ("dereverb=6", "denoise=loud", "denoise=-3"):
        with pytest.raises(ValueError):
            parse_strength(bad, ["denoise"])
    chain = ["deplosive", "denoise", "dereverb"]
    assert parse_strength("denoise=full", chain) == {"denoise": None}
    # the shipped denoise and dereverb keep room tone unless told otherwise; full lifts a limit
    assert resolve_strength(chain) == {"denoise": 12.0, "dereverb": 12.0}
    assert resolve_strength(chain, parse_strength("denoise=full,deplosive=20", chain)) == {
        "deplosive": 20.0, "dereverb": 12.0}
    # a weights file takes the default of the network it is (its recorded name), else none
    from dxkit import models

    net = models.load("debug")
    models.save(net, tmp_path / "mine.safetensors", "bandnet", net.args, {"name": "denoise"})
    models.save(net, tmp_path / "other.safetensors", "bandnet", net.args, {})
    mine, other = str(tmp_path / "mine.safetensors"), str(tmp_path / "other.safetensors")
    assert resolve_strength(["debug", mine, other]) == {mine: 12.0}
    with pytest.raises(models.WeightsError):
        resolve_strength(["my/denoise.safetensors"])
    assert resolve_strength(chain, spec="ebu-r128") == {"denoise": 12.0, "dereverb": 12.0}
    assert resolve_strength(chain, spec="acx") == {}  # ACX's noise floor limit comes first
    assert resolve_strength(chain, {"denoise": 20.0}, spec="acx") == {"denoise": 20.0}


def test_the_default_restore_keeps_room_tone(tmp_path):
    from dxkit import measure

    take = Path(__file__).parents[2] / "data" / "examples" / "location_take.flac"
    default, full = tmp_path / "default.wav", tmp_path / "full.wav"
    assert _cli(take, "-o", default).returncode == 0
    assert _cli(take, "-o", full, "--strength", "denoise=full,dereverb=full").returncode == 0
    before = measure(take).noise_floor_db
    assert before - measure(default).noise_floor_db < 25.0  # at most 12 + 12 dB, and the take's floor is not steady
    assert before - measure(full).noise_floor_db > 40.0  # full strength: digital silence between lines


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "dxkit.cli", "restore", *map(str, args)],
                          capture_output=True, text=True)


@pytest.mark.parametrize("extra,message", [
    (["--chain", "vacuum"], "unknown network"),
    (["--chain", "debug", "--strength", "denoise=6"], "not in the chain"),
])
def test_bad_options_exit_2_and_write_nothing(tmp_path, extra, message):
    src = Path(write(tmp_path / "in.wav", programme(1.0, 48000, channels=1), 48000))
    before = src.read_bytes()
    run = _cli(src, "-o", tmp_path / "out.wav", *extra)
    assert run.returncode == 2 and message in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"] and src.read_bytes() == before


def test_output_over_input_and_wrong_extension_are_refused(tmp_path):
    src = Path(write(tmp_path / "in.wav", programme(1.0, 48000, channels=1), 48000))
    assert _cli(src, "-o", src, "--chain", "debug").returncode == 2
    run = _cli(src, "-o", tmp_path / "out.flac", "--chain", "debug")
    assert run.returncode == 2 and "this writes a WAV" in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_restore_then_deliver_to_a_spec(tmp_path):
    src = Path(write(tmp_path / "in.wav", programme(4.0, 48000, channels=1), 48000))
    run = _cli(src, "-o", tmp_path / "out.wav", "--chain", "debug", "--spec", "ebu-r128")
    assert run.returncode == 0, run.stderr
    assert "PASS" in run.stdout and sf.info(tmp_path / "out.wav").samplerate == 48000
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav", "out.wav"]


def test_a_delivery_error_names_the_users_file(tmp_path):
    src = Path(write(tmp_path / "quiet.wav", np.zeros((1, 48000)), 48000))
    run = _cli(src, "-o", tmp_path / "out.mp3", "--chain", "debug", "--spec", "acx")
    assert run.returncode == 2 and "quiet.wav (restored)" in run.stderr and "dxkit-tmp" not in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["quiet.wav"]


def test_restore_an_array_with_its_rate(tmp_path, transparent):
    import dxkit

    x = programme(1.0, 44100, channels=2)
    out = dxkit.restore(x, chain=[transparent], sample_rate=44100, device="cpu")
    assert out.shape == (2, 48000) and out.dtype == np.float32
    with pytest.raises(ValueError, match="sample_rate"):
        dxkit.restore(x, chain=[transparent])
    result = dxkit.restore(x, tmp_path / "out.wav", [transparent], sample_rate=44100)
    written, rate = sf.read(tmp_path / "out.wav", always_2d=True)
    assert rate == 44100 and written.shape == (44100, 2)  # the array's own rate and length
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.wav"] and result.seconds_audio == pytest.approx(1.0)


def test_several_inputs_into_a_folder(tmp_path):
    a = write(tmp_path / "a.wav", programme(1.0, 48000, channels=1), 48000)
    b = write(tmp_path / "b.flac", programme(1.0, 32000, channels=1), 32000, subtype="PCM_16")
    (tmp_path / "out").mkdir()
    run = _cli(a, b, tmp_path / "empty.wav", "-o", tmp_path / "out", "--chain", "debug")
    assert run.returncode == 1 and "empty.wav" in run.stderr  # the missing file fails, the others go on
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["a.wav", "b.wav"]
    run = _cli(a, b, "-o", tmp_path / "c.wav", "--chain", "debug")
    assert run.returncode == 2 and "existing folder" in run.stderr


@pytest.mark.parametrize("extra,message", [
    (["--device", "cuda:7"] if not torch.cuda.is_available() else ["--device", "tpu"], "--device"),
    (["--device", "cpu", "--precision", "bf16"], "needs a CUDA device"),
])
def test_devices_the_machine_lacks_are_usage_errors(tmp_path, extra, message):
    src = write(tmp_path / "in.wav", programme(1.0, 48000, channels=1), 48000)
    run = _cli(src, "-o", tmp_path / "out.wav", "--chain", "debug", *extra)
    assert run.returncode == 2 and message in run.stderr and len(run.stderr.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"]


def test_the_restore_report_is_about_the_users_file(tmp_path, transparent):
    import json

    from dxkit import measure

    src = Path(write(tmp_path / "take.wav", 0.5 * programme(6.0, 44100, channels=1), 44100))
    out = tmp_path / "take_r128.wav"
    run = subprocess.run([sys.executable, "-m", "dxkit.cli", "restore", str(src), "-o", str(out), "--spec",
                          "ebu-r128", "--report", str(tmp_path), "--chain", f"debug,{transparent}",
                          "--strength", "debug=9"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    report = json.loads((tmp_path / "take_r128.wav.qc.json").read_text())
    assert report["source"] == str(src)
    # before: the take as received (conformed to 48 kHz); after: the delivered file
    assert report["before"]["integrated_lufs"] == pytest.approx(measure(src).integrated_lufs, abs=0.05)
    assert report["after"]["integrated_lufs"] == pytest.approx(-23.0, abs=0.1)
    assert report["restored"]["integrated_lufs"] != report["before"]["integrated_lufs"]  # debug changes it
    assert report["restoration"] == [{"network": "debug", "strength_db": 9.0},
                                     {"network": transparent, "strength_db": None}]
    assert report["processing"]["networks"] == f"debug (at most 9 dB) -> {Path(transparent).name} (full strength)"
    page = (tmp_path / "take_r128.wav.qc.html").read_text()
    assert "dxkit-tmp" not in page and "<th>restored</th>" in page and str(src) in page


def test_restore_shows_its_progress_on_a_terminal(tmp_path, transparent, monkeypatch):
    import io

    from dxkit.cli import main

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    err = Terminal()
    monkeypatch.setattr(sys, "stderr", err)
    src = write(tmp_path / "long.wav", programme(12.0, 48000, channels=1), 48000)
    assert main(["restore", str(src), "-o", str(tmp_path / "out.wav"), "--chain", transparent]) == 0
    shown = err.getvalue()
    assert shown.count("\rrestoring: ") >= 3  # read and restored in 4 s blocks
    assert "\rrestoring: 12 of 12 s (100 %" in shown and shown.endswith("\n")
