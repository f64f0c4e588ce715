"""dxkit batch: mirrors the tree, resumes by hashes, reports failures, never leaves partial files."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dxkit.infer import Settings
from dxkit.infer.batch import Shard, run_batch
from signals import programme, write


def make_tree(root: Path) -> Path:
    src = root / "in"
    (src / "sub dir").mkdir(parents=True)
    (src / "ünï").mkdir()
    write(src / "a.wav", programme(1.5, 48000, channels=1), 48000)
    write(src / "sub dir" / "b c.flac", programme(1.0, 44100, channels=2), 44100, subtype="PCM_24")
    write(src / "ünï" / "é.wav", programme(1.0, 16000, channels=1, seed=2), 16000)
    (src / "notes.txt").write_text("not audio")
    (src / "empty.wav").write_bytes(b"")
    (src / "junk.wav").write_bytes(b"RIFF1234garbage" * 10)
    (src / "._a.wav").write_bytes(b"\x00\x05\x16\x07")  # a macOS resource fork: hidden, skipped
    os.symlink("..", src / "sub dir" / "loop")
    os.symlink(root / "missing.wav", src / "broken.wav")
    return src


def files_under(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}


def test_batch_mirrors_the_tree_and_reports_bad_files(tmp_path):
    src = make_tree(tmp_path)
    before = {p: p.read_bytes() for p in src.rglob("*") if p.is_file() and not p.is_symlink()}
    out = tmp_path / "out"
    summary = run_batch(src, out, Settings(["debug"]))
    restored = {Path(d.output).relative_to(out).as_posix() for d in summary.restored}
    assert restored == {"a.wav", "sub dir/b c.wav", "ünï/é.wav"}
    assert {Path(d.source).name for d in summary.failed} == {"empty.wav", "junk.wav"}
    assert all(d.error.startswith(d.source) for d in summary.failed)
    assert dict(summary.ignored) == {"notes.txt": "not an audio file name", "broken.wav": "broken link",
                                     "sub dir/loop": "folder link loops back to a folder already walked"}
    info = sf.info(out / "sub dir" / "b c.wav")
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (44100, 2, "PCM_24", 44100)  # as it came
    # nothing outside OUT_DIR, nothing temporary, inputs untouched
    assert {p for p in files_under(tmp_path) if not p.startswith(("in/", "out/"))} == set()
    assert files_under(out) == restored | {".dxkit-batch/manifest-0-of-1.jsonl"}
    assert all(p.read_bytes() == data for p, data in before.items())


def test_rerun_skips_only_what_still_matches(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b", "c"):
        write(src / f"{name}.wav", programme(1.0, 48000, channels=1, seed=ord(name)), 48000)
    out = tmp_path / "out"
    settings = Settings(["debug"])
    assert len(run_batch(src, out, settings).restored) == 3
    again = run_batch(src, out, settings)
    assert (len(again.restored), len(again.skipped)) == (0, 3)

    write(src / "a.wav", programme(1.0, 48000, channels=1, seed=99), 48000)  # new input
    with open(out / "b.wav", "r+b") as f:  # damaged output
        f.seek(-8, os.SEEK_END)
        f.write(b"\x00" * 8)
    third = run_batch(src, out, settings)
    assert sorted(Path(d.source).name for d in third.restored) == ["a.wav", "b.wav"]
    assert third.skipped == [str(src / "c.wav")]
    stronger = run_batch(src, out, Settings(["debug"], {"debug": 6.0}))  # new settings: all again
    assert len(stronger.restored) == 3


def test_two_worker_processes_give_the_same_files(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):
        write(src / f"f{i}.wav", programme(1.0 + 0.25 * i, 48000, channels=1, seed=i), 48000)
    one = run_batch(src, tmp_path / "one", Settings(["debug"]))
    two = run_batch(src, tmp_path / "two", Settings(["debug"], device="cpu"), jobs=2)
    assert len(one.restored) == len(two.restored) == 4 and not two.failed
    for i in range(4):
        a, _ = sf.read(tmp_path / "one" / f"f{i}.wav")
        b, _ = sf.read(tmp_path / "two" / f"f{i}.wav")
        assert np.max(np.abs(a - b)) < 1e-5


def test_a_shard_takes_every_world_th_file(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(5):
        write(src / f"f{i}.wav", programme(0.5, 48000, channels=1, seed=i), 48000)
    summary = run_batch(src, tmp_path / "out", Settings(["debug"]), shard=Shard(rank=1, world=2))
    assert sorted(Path(d.source).name for d in summary.restored) == ["f1.wav", "f3.wav"]
    assert (tmp_path / "out" / ".dxkit-batch" / "manifest-1-of-2.jsonl").is_file()


def test_an_interrupt_leaves_only_complete_files(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(4):
        write(src / f"f{i}.wav", programme(2.0, 48000, channels=2, seed=i), 48000)
    out = tmp_path / "out"

    def interrupt_after_first(done, finished, total):
        if finished == 1:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_batch(src, out, Settings(["debug"], lanes=4), progress=interrupt_after_first)
    written = [p for p in out.glob("*.wav")]
    assert len(written) >= 1 and not list(out.glob("*dxkit-tmp*"))
    for p in written:
        assert sf.info(p).frames == 96000
    assert len(run_batch(src, out, Settings(["debug"], lanes=4)).skipped) == len(written)


def test_a_full_disk_fails_that_file_only(tmp_path, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    for name in ("a", "b"):
        write(src / f"{name}.wav", programme(1.0, 48000, channels=1), 48000)
    real_write = sf.SoundFile.write

    def full(self, data):
        if "b.wav" in self.name:
            raise OSError(28, "No space left on device")
        return real_write(self, data)

    monkeypatch.setattr(sf.SoundFile, "write", full)
    summary = run_batch(src, tmp_path / "out", Settings(["debug"]))
    assert [Path(d.source).name for d in summary.failed] == ["b.wav"]
    assert "No space left" in summary.failed[0].error
    assert files_under(tmp_path / "out") == {"a.wav", ".dxkit-batch/manifest-0-of-1.jsonl"}


def test_a_rerun_with_nothing_to_do_loads_no_torch_and_a_new_weights_file_is_done_again(tmp_path):
    from dxkit import models

    src, out, net = tmp_path / "in", tmp_path / "out", tmp_path / "net.safetensors"
    src.mkdir()
    write(src / "a.wav", programme(1.0, 48000, channels=1), 48000)
    debug = models.load("debug")
    models.save(debug, net, debug.family, debug.args)
    argv = ["batch", str(src), str(out), "--chain", str(net), "--device", "cpu"]
    code = ("import sys; from dxkit.cli import main; rc = main(sys.argv[1:]); "
            "print('torch was loaded' if 'torch' in sys.modules else 'no torch'); sys.exit(rc)")
    runs = [subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True) for _ in range(2)]
    assert [r.returncode for r in runs] == [0, 0], runs[1].stderr
    assert "1 restored" in runs[0].stdout and "torch was loaded" in runs[0].stdout
    assert "0 restored, 1 already done (skipped)" in runs[1].stdout and "no torch" in runs[1].stdout
    import torch

    with torch.no_grad():
        for p in debug.parameters():
            p.add_(0.01)
    models.save(debug, net, debug.family, debug.args)  # new weights, same name: done again
    assert len(run_batch(src, out, Settings([str(net)])).restored) == 1


def test_cli_batch_summary_and_exit_code(tmp_path):
    src = make_tree(tmp_path)
    run = subprocess.run([sys.executable, "-m", "dxkit.cli", "batch", str(src), str(tmp_path / "out"),
                          "--chain", "debug", "--device", "cpu"], capture_output=True, text=True)
    assert run.returncode == 1, run.stderr  # two files failed
    assert "3 restored, 0 already done (skipped), 2 failed, 3 not audio (ignored)" in run.stdout
    assert "FAILED" in run.stdout and "empty file" in run.stdout
    bad = subprocess.run([sys.executable, "-m", "dxkit.cli", "batch", str(tmp_path / "nope"),
                          str(tmp_path / "out2"), "--chain", "debug"], capture_output=True, text=True)
    assert bad.returncode == 2 and "no such folder" in bad.stderr and not (tmp_path / "out2").exists()


def test_an_output_folder_inside_the_input_is_not_walked(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    write(src / "a.wav", programme(0.5, 48000, channels=1), 48000)
    first = run_batch(src, src / "restored", Settings(["debug"]))
    second = run_batch(src, src / "restored", Settings(["debug"]))
    assert [Path(d.output).name for d in first.restored] == ["a.wav"]
    assert second.skipped == [str(src / "a.wav")] and not second.restored and not second.ignored


def test_an_output_path_blocked_by_a_file_fails_that_file(tmp_path):
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    write(src / "a.wav", programme(0.5, 48000, channels=1), 48000)
    write(src / "sub" / "b.wav", programme(0.5, 48000, channels=1), 48000)
    out = tmp_path / "out"
    out.mkdir()
    (out / "sub").write_text("a file where the folder should be")
    summary = run_batch(src, out, Settings(["debug"]))
    assert [Path(d.output).name for d in summary.restored] == ["a.wav"]
    assert len(summary.failed) == 1 and "does not exist" in summary.failed[0].error


def test_torchrun_shares_the_files_between_processes(tmp_path):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(3):
        write(src / f"f{i}.wav", programme(0.5, 48000, channels=1, seed=i), 48000)
    torchrun = Path(sys.executable).with_name("torchrun")
    run = subprocess.run([str(torchrun), "--nproc-per-node", "2", "-m", "dxkit.cli", "batch", str(src),
                          str(tmp_path / "out"), "--chain", "debug", "--device", "cpu"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "out").glob("*.wav")) == ["f0.wav", "f1.wav", "f2.wav"]
    parts = sorted(p.name for p in (tmp_path / "out" / ".dxkit-batch").iterdir())
    assert parts == ["manifest-0-of-2.jsonl", "manifest-1-of-2.jsonl"]


def test_batch_delivers_to_a_spec_with_reports_beside_the_files(tmp_path):
    src = tmp_path / "in"
    (src / "day 1").mkdir(parents=True)
    write(src / "day 1" / "sc1.wav", programme(4.0, 44100, channels=1), 44100)
    summary = run_batch(src, tmp_path / "out", Settings(["debug"], spec="podcast", reports=True))
    assert [d.passed for d in summary.restored] == [True]
    assert files_under(tmp_path / "out" / "day 1") == {"sc1.mp3", "sc1.mp3.qc.json", "sc1.mp3.qc.html"}
    with pytest.raises(ValueError, match="lanes"):
        run_batch(src, tmp_path / "out", Settings(["debug"], lanes=0))


def test_odd_files_fail_alone_nan_output_is_never_kept(tmp_path):
    import torch

    from dxkit import models
    from dxkit.models.bandnet import BandNet

    src = tmp_path / "in"
    src.mkdir()
    sf.write(src / "one_sample.wav", np.zeros((1, 1), np.float32), 96000, subtype="FLOAT")
    write(src / "good.wav", programme(0.5, 48000, channels=1), 48000)
    summary = run_batch(src, tmp_path / "out", Settings(["debug"]))
    assert sorted(Path(d.output).name for d in summary.restored) == ["good.wav", "one_sample.wav"]
    assert sf.info(tmp_path / "out" / "one_sample.wav").frames == 1

    args = {"hidden": 8, "layers": 1, "df_bins": 8, "df_order": 2, "bands": 16}
    broken = BandNet(**args)
    with torch.no_grad():
        broken.gain_head.bias.fill_(float("nan"))
    weights = tmp_path / "nan.safetensors"
    models.save(broken, weights, "bandnet", args)
    bad = run_batch(src, tmp_path / "out_nan", Settings([str(weights)]))
    assert not bad.restored and all("NaN or Inf" in d.error for d in bad.failed)
    assert files_under(tmp_path / "out_nan") == set()


def test_the_manifest_survives_a_renamed_out_dir_and_a_changed_world(tmp_path, monkeypatch):
    src = tmp_path / "in"
    src.mkdir()
    for i in range(2):
        write(src / f"f{i}.wav", programme(0.5, 48000, channels=1, seed=i), 48000)
    out = tmp_path / "out"
    run_batch(src, out, Settings(["debug"]), shard=Shard(rank=1, world=2))  # f1 with the first settings
    run_batch(src, out, Settings(["debug"], {"debug": 6.0}))  # both with new settings, one process
    monkeypatch.chdir(tmp_path)
    again = run_batch(Path("in"), Path("out"), Settings(["debug"], {"debug": 6.0}))  # relative spelling
    assert (len(again.restored), len(again.skipped)) == (0, 2)
    with_reports = run_batch(src, out, Settings(["debug"], {"debug": 6.0}, reports=True))
    assert len(with_reports.restored) == 2  # reports are part of the settings


def test_names_that_would_collide_and_in_equals_out(tmp_path):
    from dxkit.infer.batch import plan_jobs

    files = [Path("a.wav"), Path("a.flac"), Path("a.wav.mp3")]
    jobs, clashes = plan_jobs(Path("/in"), Path("/out"), files, ".wav")
    assert [j.output.name for j in jobs] == ["a.flac.wav"]
    assert sorted(j.source.name for j in clashes) == ["a.wav", "a.wav.mp3"]
    src = tmp_path / "in"
    src.mkdir()
    with pytest.raises(ValueError, match="is the input folder"):
        run_batch(src, src, Settings(["debug"]))


def test_a_new_detector_makes_deliveries_that_need_it_new_work(monkeypatch):
    from dxkit.infer import batch

    real = batch.file_sha256
    acx, r128 = Settings(["denoise"], spec="acx"), Settings(["denoise"], spec="ebu-r128")
    before = batch.settings_fingerprint(acx), batch.settings_fingerprint(r128)
    monkeypatch.setattr(batch, "file_sha256", lambda p: real(p) + ("x" if p.name == "silero_vad.safetensors" else ""))
    assert batch.settings_fingerprint(acx) != before[0]  # acx judges room tone around the dialogue
    assert batch.settings_fingerprint(r128) == before[1]
