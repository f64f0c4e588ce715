"""dxkit eval: the fixed test set and the report, run with the debug network."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np

from dxkit.train.evaluate import SNRS_DB, build_testset, load_evalset
from dxkit.train.levels import active_rms

EVALSET = Path(__file__).parents[2] / "data" / "evalset"


def test_testset_is_fixed_and_has_every_condition():
    a = build_testset(EVALSET, ["denoise", "deplosive"], limit=2)
    b = build_testset(EVALSET, ["denoise", "deplosive"], limit=2)
    assert [c.name for c in a] == [f"real snr {s:+d} dB" for s in SNRS_DB] + [
        "real 2 noises snr +5 dB", "real 16 kHz recording snr +5 dB",
        "real low-passed noise, wide speech snr +5 dB"] + [f"synthetic snr {s:+d} dB" for s in SNRS_DB] + [
        "real pops in measured room+noise", "pops"]
    for ca, cb in zip(a, b):
        for ea, eb in zip(ca.examples, cb.examples):
            assert np.array_equal(ea.noisy, eb.noisy) and np.array_equal(ea.target, eb.target)
    assert all(ex.pop_mask is not None and ex.pop_mask.any() for c in a[-2:] for ex in c.examples)
    for ex in a[-2].examples:  # the real pops sit on a take with room and noise, which the target keeps
        assert np.all(ex.noisy[~ex.pop_mask] == ex.target[~ex.pop_mask])
        assert np.sum((ex.noisy - ex.target)[ex.pop_mask] ** 2) > 0.01 * np.sum(ex.target[ex.pop_mask] ** 2)


def test_real_conditions_use_the_held_out_recordings_rooms_and_band_limits():
    held = load_evalset(EVALSET, limit=3)
    assert len(held.noises) == 14 and len(held.rooms) == 20 and len(held.wideband) == 2
    by = {c.name: c for c in build_testset(held, ["denoise", "dereverb"])}
    real = by["real snr +5 dB"]
    assert len(set(real.kinds)) == 3 and set(real.kinds) <= set(held.noises)
    for ex in real.examples:  # the SNR is the asked one, with real noise
        snr = 20 * np.log10(active_rms(ex.target) / np.sqrt(np.mean((ex.noisy - ex.target) ** 2)))
        assert abs(snr - 5.0) < 0.05
    assert all(ex.bandwidth_hz == 8000.0 for ex in by["real 16 kHz recording snr +5 dB"].examples)
    wide = by["real low-passed noise, wide speech snr +5 dB"].examples
    assert len(wide) == 2 and all(ex.bandwidth_hz == 24000.0 for ex in wide)
    assert "measured rooms" in by and "simulated rooms" in by


def test_eval_command_writes_table_and_json(tmp_path):
    networks = "denoise=debug,dereverb=debug,deplosive=debug"
    run = subprocess.run([sys.executable, "-m", "dxkit.cli", "eval", "--evalset", str(EVALSET), "--limit", "1",
                          "--baselines", "passthrough", "--networks", networks, "--out", str(tmp_path)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    assert "| real snr -5 dB | passthrough |" in run.stdout and "dxkit deplosive+denoise+dereverb" in run.stdout
    report = json.loads((tmp_path / "eval.json").read_text())
    tasks = [c["task"] for c in report["conditions"]]
    assert tasks == ["denoise"] * 13 + ["dereverb"] * 2 + ["deplosive"] * 2 + ["chain"] * 2
    by = {(c["task"], c["condition"]): c["systems"] for c in report["conditions"]}
    for source in ("real", "synthetic"):
        sdr = [by[("denoise", f"{source} snr {s:+d} dB")]["passthrough"]["si_sdr"] for s in SNRS_DB]
        assert sdr[-1] - sdr[0] > 15  # 25 dB more SNR shows on the input's SI-SDR
    kinds = report["by_kind"]["passthrough"]
    assert len(kinds) == 5 and all(k["examples"] == 1 for k in kinds.values())  # one clip, five SNRs
    assert "### denoise by kind of real noise" in run.stdout
    assert by[("deplosive", "pops")]["passthrough"]["pop_removed_db"] == 0.0
    # the networks run at full strength and, where dxkit restore limits them, as it runs them
    assert "dxkit denoise (default limits)" in by[("denoise", "real snr -5 dB")]
    assert "dxkit deplosive+denoise+dereverb (default limits)" in by[("chain", "real pops+measured room+noise")]
    assert not any("default limits" in s for s in by[("deplosive", "pops")])
    assert (tmp_path / "eval.md").read_text().startswith("### denoise")


def test_eval_refuses_a_missing_folder(tmp_path):
    run = subprocess.run([sys.executable, "-m", "dxkit.cli", "eval", "--evalset", str(tmp_path / "none")],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "does not exist" in run.stderr
    (tmp_path / "speech").mkdir()  # a folder of speech alone, as the test set used to be
    run = subprocess.run([sys.executable, "-m", "dxkit.cli", "eval", "--evalset", str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "no wideband" in run.stderr and "Traceback" not in run.stderr


def test_eval_refuses_malformed_networks():
    run = subprocess.run([sys.executable, "-m", "dxkit.cli", "eval", "--evalset", str(EVALSET), "--networks", "foo"],
                         capture_output=True, text=True)
    assert run.returncode == 2 and "NAME=PATH" in run.stderr


def test_a_condition_is_the_same_whichever_tasks_run():
    alone = build_testset(EVALSET, ["denoise"], limit=1)
    together = build_testset(EVALSET, ["dereverb", "denoise"], limit=1)[2:]
    synthetic = build_testset(EVALSET, ["denoise"], limit=1, sources=("synthetic",))
    assert np.array_equal(alone[0].examples[0].noisy, together[0].examples[0].noisy)
    assert np.array_equal(alone[-1].examples[0].noisy, synthetic[-1].examples[0].noisy)


def test_eval_scores_the_dialogue_detector_on_its_own_rows(tmp_path):
    run = subprocess.run([sys.executable, "-m", "dxkit.cli", "eval", "--evalset", str(EVALSET), "--tasks", "dialogue",
                          "--only", "synthetic", "--baselines", "passthrough", "--json"], capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    rows = json.loads(run.stdout)["dialogue"]
    assert [r["condition"] for r in rows][:2] == ["synthetic clean", "synthetic noise 20 dB"]
    assert all(r["source"] == "synthetic" and list(r["systems"]) == ["dxkit"] for r in rows)
    clean = rows[0]["systems"]["dxkit"]
    assert clean["f1"] > 0.9 and rows[-1]["systems"]["dxkit"]["f1"] is None  # noise alone: no dialogue
