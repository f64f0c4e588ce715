"""dxkit eval: the fixed test set and the report, run with the debug network."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from dxkit.train.evaluate import SNRS_DB, build_testset

SPEECH = Path(__file__).parents[2] / "data" / "evalset" / "speech"


def test_testset_is_fixed_and_has_every_condition():
    a = build_testset(SPEECH, ["denoise", "deplosive"], limit=2)
    b = build_testset(SPEECH, ["denoise", "deplosive"], limit=2)
    assert [c.name for c in a] == [f"snr {s:+d} dB" for s in SNRS_DB] + ["pops"]
    for ca, cb in zip(a, b):
        for ea, eb in zip(ca.examples, cb.examples):
            assert np.array_equal(ea.noisy, eb.noisy) and np.array_equal(ea.target, eb.target)
    assert all(ex.pop_mask is not None and ex.pop_mask.any() for ex in a[-1].examples)


def test_eval_command_writes_table_and_json(tmp_path):
    networks = "denoise=debug,dereverb=debug,deplosive=debug"
    run = subprocess.run([sys.executable, "-m", "dxkit.cli", "eval", "--speech", str(SPEECH), "--limit", "1",
                          "--baselines", "passthrough", "--networks", networks, "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "| snr -5 dB | passthrough |" in run.stdout and "dxkit deplosive+denoise+dereverb" in run.stdout
    report = json.loads((tmp_path / "eval.json").read_text())
    tasks = [c["task"] for c in report["conditions"]]
    assert tasks == ["denoise"] * 5 + ["dereverb", "deplosive", "chain"]
    by = {(c["task"], c["condition"]): c["systems"] for c in report["conditions"]}
    sdr = [by[("denoise", f"snr {s:+d} dB")]["passthrough"]["si_sdr"] for s in SNRS_DB]
    assert sdr[-1] - sdr[0] > 15  # 25 dB more SNR shows on the input's SI-SDR
    assert by[("deplosive", "pops")]["passthrough"]["pop_removed_db"] == 0.0
    assert (tmp_path / "eval.md").read_text().startswith("### denoise")


def test_eval_refuses_a_missing_folder(tmp_path):
    run = subprocess.run([sys.executable, "-m", "dxkit.cli", "eval", "--speech", str(tmp_path / "none")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "does not exist" in run.stderr


def test_eval_refuses_malformed_networks():
    run = subprocess.run([sys.executable, "-m", "dxkit.cli", "eval", "--speech", str(SPEECH), "--networks", "foo"],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "NAME=PATH" in run.stderr


def test_a_condition_is_the_same_whichever_tasks_run():
    alone = build_testset(SPEECH, ["denoise"], limit=1)[0].examples[0]
    together = build_testset(SPEECH, ["dereverb", "denoise"], limit=1)[1].examples[0]
    assert np.array_equal(alone.noisy, together.noisy)
