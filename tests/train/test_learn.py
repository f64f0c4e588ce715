"""dxkit learn: the adaptation, its check and fallback, its budget, what the file records, the
commands around it. Tiny models and a step or two: the quality is the benchmark's business."""

import hashlib
import io
import json
import time
from functools import partial
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf
import torch

from dxkit import models
from dxkit.cli import main
from dxkit.train import learn as learning
from dxkit.train.learn import (CHECK_SNR_DB, SPEECH_DIR, Check, adapt, learn, parse_budget, scene_chain,
                               shipped_speech, verdict)
from dxkit.train.scene_noise import find_noise

RATE = 48000
REPO = Path(__file__).resolve().parents[2]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def take(tmp_path_factory) -> Path:
    """8 s: a voice from the shipped speech between 3 s of noise at each end."""
    rng = np.random.default_rng(0)
    line, rate = sf.read(SPEECH_DIR / "vctk_p225_008.flac", dtype="float32")
    noise = 0.01 * rng.standard_normal(8 * rate).astype(np.float32)
    clean = np.zeros(8 * rate, np.float32)
    clean[3 * rate:3 * rate + min(len(line), 2 * rate)] = line[:2 * rate] * 0.3
    path = tmp_path_factory.mktemp("learn") / "take.wav"
    sf.write(path, clean + noise, rate, subtype="FLOAT")
    return path


def check(mean: float, clean: float = 20.0, worst: float = 0.0, spread: float = 0.1) -> Check:
    """A check at ``mean`` dB, ``worst`` dB more at the lowest SNR, four examples per SNR
    ``spread`` dB either side of their SNR's figure, alternately."""
    by_snr = {snr: mean for snr in CHECK_SNR_DB}
    by_snr[CHECK_SNR_DB[0]] += worst
    examples = tuple(by_snr[snr] + spread * (-1) ** i for snr in CHECK_SNR_DB for i in range(4))
    return Check(by_snr, mean, clean, examples)


def test_parse_budget():
    assert parse_budget("120s") == 120.0
    assert parse_budget("2m") == 120.0
    assert parse_budget("90") == 90.0
    assert parse_budget("auto", "cpu") == learning.DEFAULT_BUDGET_S
    for bad in ("abc", "5s", "-3", "nan", "inf"):
        with pytest.raises(ValueError):
            parse_budget(bad)


def test_verdict_keeps_only_a_network_that_beats_the_base_everywhere():
    base = check(10.0)
    assert verdict(base, check(11.0))[0]
    assert not verdict(base, check(10.0))[0]  # no gain is no reason to change networks
    kept, why = verdict(base, check(11.0, worst=-2.0))
    assert not kept and f"at {CHECK_SNR_DB[0]:g} dB SNR" in why
    kept, why = verdict(base, check(11.0, clean=18.0))
    assert not kept and "clean speech" in why


def test_verdict_refuses_a_gain_the_check_cannot_tell_from_chance():
    """+0.3 dB on average, but example by example -1.7 to +2.3 dB: the base stays."""
    base = check(10.0, spread=0.0)
    kept, why = verdict(base, check(10.3, spread=2.0))
    assert not kept and "can" in why and "tell apart" in why
    assert verdict(base, check(10.3, spread=0.1))[0]  # the same gain on every example is one


def test_shipped_speech_holds_no_voice_of_the_test_set():
    train, held = shipped_speech()
    assert len(train) >= 20 and len(held) == len(learning.CHECK_SPEECH)
    heldout = (REPO / "data" / "evalset" / "heldout.txt").read_text().splitlines()
    test_speakers = {line.split("-")[0].split("_")[0] for line in heldout if line.endswith((".flac", ".wav"))}
    for clip in train + held:
        speaker = clip.name.split("_", 1)[1].split("-")[0].split("_")[0]
        assert speaker not in test_speakers | {"p255", "p301"}, clip.name  # p255/p301: the wideband test voices
    assert any(c.bandwidth_hz == 24000 for c in train) and any(c.bandwidth_hz == 24000 for c in held)


def test_learn_writes_a_network_that_restores_and_records_its_scene(tmp_path, take):
    out = tmp_path / "scene.safetensors"
    result = learn([take], out, ranges=[(0.0, 3.0), (5.5, 8.0)], base="debug", max_steps=2, budget_s=600)
    net = models.load(out)
    family, args, about = models.read_metadata(out)
    assert family == "bandnet" and args == models.load("debug").args
    assert about["adapted_on"] == ["take.wav"] and about["base"] == "debug" and about["steps"] == 2
    assert about["noise_seconds"] == pytest.approx(result.noise.seconds, abs=0.01) and about["budget_s"] == 600
    assert about["noise_stretches"] == [["take.wav", 0.0, 3.0], ["take.wav", 5.5, 8.0]]
    assert about["adapted"] == result.adaptation.adapted and about["verdict"] == result.adaptation.reason
    assert len(about["check"]["adapted_si_sdr_db"]) == len(CHECK_SNR_DB)
    wave = torch.zeros(1, RATE)
    assert net(wave).shape == wave.shape


def test_a_network_that_does_not_beat_the_base_falls_back_to_it(tmp_path, take):
    """No steps: the adapted network is the base, it gains nothing, and the base is written."""
    out = tmp_path / "scene.safetensors"
    result = learn([take], out, ranges=[(0.0, 3.0), (5.5, 8.0)], base="debug", max_steps=0)
    assert not result.adaptation.adapted and "no time was left" in result.adaptation.reason
    written, base = models.load(out).state_dict(), models.load("debug").state_dict()
    assert all(torch.equal(written[k], base[k]) for k in base)
    assert models.read_metadata(out)[2]["adapted"] is False


def test_the_budget_bounds_the_training(take):
    """A budget already spent leaves no time to train: no step is taken and the base is kept."""
    noise = find_noise([take], ranges=[(0.0, 3.0), (5.5, 8.0)])
    spent = adapt(noise, "debug", budget_s=10.0, started=time.perf_counter() - 10.0)
    assert spent.steps == 0 and not spent.adapted and "no time was left" in spent.reason
    some = adapt(noise, "debug", budget_s=600.0, max_steps=3)
    assert some.steps == 3


def test_scene_chain_swaps_the_denoiser_and_keeps_its_limit(tmp_path):
    out = tmp_path / "s.safetensors"
    models.save(models.load("debug"), out, "bandnet", models.load("debug").args, {"name": "denoise"})
    chain, limits = scene_chain(["deplosive", "denoise", "dereverb"], {"denoise": 12.0, "dereverb": 12.0}, out)
    assert chain == ["deplosive", str(out), "dereverb"] and limits == {str(out): 12.0, "dereverb": 12.0}
    with pytest.raises(ValueError, match="has none"):
        scene_chain(["dereverb"], {}, out)


def test_cli_learn_writes_the_file_and_bad_inputs_write_nothing(tmp_path, take, capsys):
    before = digest(take)
    out = tmp_path / "scene.safetensors"
    assert main(["learn", str(take), "-o", str(out), "--base", "debug", "--budget", "10s",
                 "--noise-range", "0-3", "--noise-range", "5.5-8", "--threads", "1"]) == 0
    said = capsys.readouterr()
    assert "noise: 5.5 s from 2 stretch(es) of take.wav" in said.out and str(out) in said.out
    assert models.read_metadata(out)[2]["adapted_on"] == ["take.wav"]
    bad = [
        ([str(tmp_path / "missing.wav")], "no such file"),
        ([str(take), "--noise-range", "0-2"], "too little noise"),
        ([str(take), "--noise-range", "0-3", "--noise", str(take)], "not both"),
        ([str(take), "--budget", "soon"], "budget"),
        ([str(take), "--noise-range", "3-1"], "end must come after"),
    ]
    for args, message in bad:
        target = tmp_path / "bad.safetensors"
        assert main(["learn", "--base", "debug", "--budget", "10s", "-o", str(target), *args]) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
        assert not target.exists()
    assert main(["learn", str(take), "-o", str(tmp_path / "scene.wav")]) == 2
    assert ".safetensors" in capsys.readouterr().err
    assert digest(take) == before
    assert not list(tmp_path.glob(".*tmp*"))


def test_restore_learn_noise_restores_with_the_learned_denoiser(tmp_path, take, capsys, monkeypatch):
    monkeypatch.setattr(learning, "learn", partial(learning.learn, max_steps=1))
    out = tmp_path / "restored.wav"
    assert main(["restore", str(take), "-o", str(out), "--learn-noise", "--learn-budget", "60s",
                 "--spec", "ebu-r128", "--report", str(tmp_path)]) in (0, 1)
    said = capsys.readouterr()
    weights = tmp_path / "restored.scene.safetensors"  # kept beside the output
    assert "noise:" in said.err and weights.name in said.out and weights.is_file()
    given, written = sf.info(take), sf.info(out)  # as long as the take, at the spec's rate
    assert written.frames * given.samplerate == given.frames * written.samplerate
    report = json.loads((tmp_path / "restored.wav.qc.json").read_text())
    step = report["restoration"][1]  # the QC report says which denoiser ran, and on what it learned
    assert step["network"] == str(weights) and step["role"] == "denoise"
    assert step["adapted_on"] == ["take.wav"] and step["strength_db"] == 12.0  # the denoiser's default limit
    assert "restored.scene.safetensors (denoise " in json.dumps(report)
    assert main(["restore", str(take), "-o", str(tmp_path / "x.wav"), "--learn-noise", "--chain", "dereverb"]) == 2
    assert "has none" in capsys.readouterr().err


def test_batch_learns_once_per_folder_and_reuses_it(tmp_path, take, capsys, monkeypatch):
    calls, real = [], learning.learn

    def counted(takes, output, **kw):
        calls.append(sorted(Path(t).name for t in takes))
        return real(takes, output, max_steps=1, **kw)

    monkeypatch.setattr(learning, "learn", counted)
    src = tmp_path / "in"
    for scene in ("day", "night"):
        (src / scene).mkdir(parents=True)
        (src / scene / "t1.wav").write_bytes(take.read_bytes())
    (src / "night" / "t2.wav").write_bytes(take.read_bytes())
    args = ["batch", str(src), str(tmp_path / "out"), "--learn-noise", "per-folder", "--learn-budget", "60s"]
    assert main(args) == 0
    assert sorted(calls) == [["t1.wav"], ["t1.wav", "t2.wav"]]
    for scene in ("day", "night"):
        assert (tmp_path / "out" / scene / ".dxkit-scene.safetensors").is_file()
        assert (tmp_path / "out" / scene / "t1.wav").is_file()
    capsys.readouterr()
    moved = tmp_path / "moved"
    (tmp_path / "out").rename(moved)  # a rerun, into the output folder under another name:
    assert main([*args[:2], str(moved), *args[3:]]) == 0  # nothing learned again, nothing restored again
    assert len(calls) == 2 and "3 already done (skipped)" in capsys.readouterr().out
    about = models.read_metadata(moved / "night" / ".dxkit-scene.safetensors")[2]
    assert [t["name"] for t in about["takes"]] == ["t1.wav", "t2.wav"]
    assert about["takes"][0]["sha256"] == digest(src / "night" / "t1.wav")
    # a take exported again under its name (its content changed): that folder is learned again
    audio, rate = sf.read(take, dtype="float32")
    sf.write(src / "night" / "t2.wav", audio * 0.5, rate, subtype="FLOAT")
    assert main([*args[:2], str(moved), *args[3:]]) == 0
    assert len(calls) == 3 and calls[-1] == ["t1.wav", "t2.wav"]
    assert "1 already done (skipped)" in capsys.readouterr().out  # day's t1; night's two restored again
    # a folder with too little noise is restored as it is, with a warning; the batch goes on
    (src / "short").mkdir()
    sf.write(src / "short" / "t.wav", np.zeros(RATE, np.float32) + 0.01, RATE)
    assert main([*args[:2], str(moved), *args[3:]]) == 0
    said = capsys.readouterr()
    assert "not learned, restored with denoise as it is (too little noise" in said.err
    assert (moved / "short" / "t.wav").is_file() and len(calls) == 4


def test_noise_in_most_of_a_take_is_flagged(tmp_path):
    """A loud noise can hide the lines from the detector; learning from a take that is mostly
    "noise" says so (here it is all noise, so the warning is a false alarm, but it must come)."""
    rng = np.random.default_rng(4)
    path = tmp_path / "all_noise.wav"
    sf.write(path, (0.02 * rng.standard_normal(6 * RATE)).astype(np.float32), RATE, subtype="FLOAT")
    result = learn([path], None, base="debug", max_steps=0)
    assert result.warnings and "dialogue in only" in result.warnings[0]
    ranged = learn([path], None, ranges=[(0.0, 5.0)], base="debug", max_steps=0)
    assert ranged.warnings == []  # the user said where the noise is


def test_a_full_disk_is_a_one_line_error_and_leaves_nothing(tmp_path, take, capsys, monkeypatch):
    def full(model, path, *args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(learning, "save", full)
    out = tmp_path / "scene.safetensors"
    assert main(["learn", str(take), "-o", str(out), "--base", "debug", "--budget", "10s",
                 "--noise-range", "0-3", "--noise-range", "5.5-8"]) == 2
    err = capsys.readouterr().err
    assert "No space left on device" in err and len(err.strip().splitlines()) == 1
    assert list(tmp_path.iterdir()) == []



class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_on_a_terminal_learning_shows_where_it_is_and_leaves_no_line(tmp_path, take, monkeypatch, capsys):
    monkeypatch.setattr(learning, "learn", partial(learning.learn, max_steps=2))
    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    assert main(["learn", str(take), "-o", str(tmp_path / "scene.safetensors"), "--base", "debug",
                 "--noise-range", "0-3", "--noise-range", "5.5-8"]) == 0
    drawn = terminal.getvalue()
    assert "\rlearning: reading the noise" in drawn and "\rlearning: base network" in drawn
    assert drawn.endswith("\r\033[K")  # erased: the summary says it again
    assert "noise: 5.5 s" in capsys.readouterr().out
    terminal.seek(0)
    terminal.truncate()
    assert main(["learn", str(take), "-o", str(tmp_path / "bad.safetensors"), "--base", "debug",
                 "--noise-range", "0-2"]) == 2
    erased, error = terminal.getvalue().rsplit("\r\033[K", 1)
    assert "learning: " in erased and error.startswith("dxkit: ") and "too little noise" in error
    assert len(error.strip().splitlines()) == 1  # the error stands alone
    for command in (["restore", str(take), "-o", str(tmp_path / "r.wav"), "--learn-noise"],
                    ["batch", str(take.parent), str(tmp_path / "batch"), "--learn-noise", "per-folder"]):
        terminal.seek(0)
        terminal.truncate()
        assert main(command) == 0
        assert "\rlearning: base network" in terminal.getvalue(), command[0]
