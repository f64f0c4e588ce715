"""fit(cfg) end to end on CPU: a few steps, the weights file, fine-tuning on a user's noise, DDP."""

import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf
import torch
from hydra import compose, initialize_config_module

from dxkit import models
from dxkit.train.fit import fit

TINY = ["data.rooms=2", "data.rir_cache=null", "data.seconds=0.5", "data.batch_size=2",
        "data.num_workers=0", "export_every=0"]


def _config(overrides):
    with initialize_config_module("dxkit.configs", version_base="1.3"):
        return compose("train", overrides=overrides)


def test_fit_writes_weights_that_rebuild_the_model(tmp_path, speech_dir, capsys):
    out = tmp_path / "net.safetensors"
    cfg = _config(["model=debug", f"data.speech_dirs=[{speech_dir}]", "trainer.max_steps=3",
                   f"output={out}", "log_every=2", *TINY])
    assert fit(cfg) == out
    # in a log (not a terminal), a progress line every log_every steps and at the end
    lines = [line for line in capsys.readouterr().out.splitlines() if "] step " in line]
    assert [line.split("] ")[1].split()[1] for line in lines] == ["2/3", "3/3"]
    assert all("examples/s" in line and "left" in line for line in lines)
    net = models.load(out)
    assert net.about["steps"] == 3 and net.about["name"] == "denoise"
    assert "speech_dirs" in net.about["config"]


@pytest.mark.parametrize("experiment,extra", [("dereverb", ["data.render=device", "loss.si_sdr_weight=0.01"]),
                                              ("deplosive", [])])
def test_every_experiment_composes_and_trains(tmp_path, speech_dir, experiment, extra):
    # data.render=device runs the datamodule's on_after_batch_transfer rendering (here on the CPU)
    out = tmp_path / f"{experiment}.safetensors"
    cfg = _config([f"experiment={experiment}", "model=debug", f"data.speech_dirs=[{speech_dir}]",
                   "trainer.max_steps=2", f"output={out}", *extra, *TINY])
    fit(cfg)
    assert models.load(out).about["name"] == experiment


def test_the_dialogue_detector_trains_and_its_weights_detect(tmp_path, speech_dir):
    out = tmp_path / "activity.safetensors"
    cfg = _config(["experiment=activity", "model.args.channels=8", "model.args.dilations=[1,2]",
                   f"data.speech_dirs=[{speech_dir}]", "trainer.max_steps=2", f"output={out}",
                   "data.seconds=1.0", "data.batch_size=2", "export_every=0", "data.rooms=2", "data.rir_cache=null"])
    fit(cfg)
    net = models.load(out)
    assert net.family == "activity" and net.about["name"] == "activity"
    from dxkit.infer.detect import detect_array

    found = detect_array(np.zeros(48000, np.float32), 48000, net)
    assert found.probability.shape == (100,) and np.isfinite(found.probability).all()


def test_custom_noise_fine_tunes_the_shipped_denoiser(tmp_path, speech_dir):
    noise_dir = tmp_path / "noise"
    noise_dir.mkdir()
    rng = np.random.default_rng(0)
    t = np.arange(44100 * 2) / 44100
    sf.write(noise_dir / "my hum.wav", 0.05 * np.sin(2 * np.pi * 50 * t) + 0.01 * rng.standard_normal(len(t)), 44100)
    out = tmp_path / "denoise_custom.safetensors"
    cfg = _config(["experiment=custom_noise", f"data.noise_dirs=[{noise_dir}]", "init_from=denoise",
                   f"data.speech_dirs=[{speech_dir}]", "trainer.max_steps=2", f"output={out}", *TINY])
    fit(cfg)
    shipped, tuned = models.load("denoise"), models.load(out)
    assert tuned.args == shipped.args and tuned.about["init_from"] == "denoise"
    before, after = shipped.state_dict(), tuned.state_dict()
    assert any(not torch.equal(before[k], after[k]) for k in before)


def test_lookahead_is_given_to_a_network_that_starts_from_one_without(tmp_path, speech_dir):
    out = tmp_path / "ahead.safetensors"
    cfg = _config(["init_from=debug", "lookahead=2", f"data.speech_dirs=[{speech_dir}]",
                   "trainer.max_steps=1", f"output={out}", *TINY])
    fit(cfg)
    start, ahead = models.load("debug"), models.load(out)
    assert ahead.lookahead == 2 and start.lookahead == 0
    assert {k: v for k, v in ahead.args.items() if k != "lookahead"} == start.args


def test_ddp_trains_with_two_cpu_processes(tmp_path, speech_dir):
    out = tmp_path / "ddp.safetensors"
    args = ["model=debug", "trainer=ddp", "trainer.accelerator=cpu", "trainer.devices=2",
            "trainer.precision=32-true", "trainer.max_steps=2", f"data.speech_dirs=[{speech_dir}]",
            f"output={out}", *TINY]
    run = subprocess.run([sys.executable, "-m", "dxkit.cli", "train", *args], cwd=tmp_path,
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    log = run.stdout + run.stderr
    assert "distributed_backend=gloo" in log and "Starting with 2 processes" in log
    assert "step 2/2" in log and "Tip" not in log and "LeafSpec" not in log  # ours, not Lightning's advertising
    assert models.load(out).about["steps"] == 2


def test_a_required_value_left_out_is_a_clear_error(tmp_path):
    run = subprocess.run([sys.executable, "-m", "dxkit.cli", "train", "model=debug"], cwd=tmp_path,
                         capture_output=True, text=True, timeout=120)
    assert run.returncode != 0 and "speech_dirs" in run.stderr


def test_a_bad_setting_is_a_one_line_error(tmp_path, speech_dir):
    run = subprocess.run([sys.executable, "-m", "dxkit.cli", "train", "model=debug", "data.render=gpu",
                          f"data.speech_dirs=[{speech_dir}]", f"output={tmp_path / 'x.safetensors'}", *TINY],
                         cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert run.returncode == 2 and "Traceback" not in run.stderr
    assert run.stderr.strip().splitlines()[-1] == "dxkit train: error: data.render=gpu: use auto, device or worker"
    assert not (tmp_path / "x.safetensors").exists()
