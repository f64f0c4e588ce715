"""Bad input and bad output paths: a one-line error, exit 2, nothing written, input untouched."""

import os
import resource
import signal
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from dxkit.cli import main
from signals import programme, sine, write


def run_deliver(capsys, src, out, spec="ebu-r128"):
    code = main(["deliver", str(src), "-o", str(out), "--spec", spec])
    err = capsys.readouterr().err.strip()
    return code, err


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if "dxkit-tmp" in p.name)


def make_truncated(path):
    write(path, programme(seconds=4), 48000, "PCM_24")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def make_nan(path):
    x = programme(seconds=3)
    x[0, 50000] = np.nan
    write(path, x, 48000, "FLOAT")


CASES = {
    "empty": (lambda p: p.write_bytes(b""), "empty file"),
    "not audio": (lambda p: p.write_text("this is not audio\n" * 50), "not a readable audio file"),
    "truncated": (make_truncated, "truncated"),
    "digital silence": (lambda p: write(p, np.zeros((2, 96000)), 48000, "PCM_16"), "no integrated loudness"),
    "shorter than 400 ms": (lambda p: write(p, sine(1000, -20, 0.3), 48000), "no integrated loudness"),
    "NaN": (make_nan, "NaN or Inf"),
    "missing": (lambda p: None, "no such file"),
    "four channels": (lambda p: write(p, programme(seconds=2, channels=4), 48000), "with no mix track; choose one with --track"),
}


@pytest.mark.parametrize("case", list(CASES))
def test_bad_input_is_refused_cleanly(tmp_path, capsys, case):
    make, message = CASES[case]
    src = tmp_path / "in.wav"
    make(src)
    before = src.read_bytes() if src.exists() else None
    out = tmp_path / "out.wav"
    code, err = run_deliver(capsys, src, out)
    assert code == 2
    assert message in err and len(err.splitlines()) == 1 and err.startswith("dxkit: error:")
    assert not out.exists() and leftovers(tmp_path) == []
    assert (src.read_bytes() if src.exists() else None) == before
    if case != "missing":
        assert main(["measure", str(src)]) in (0, 2)  # measuring never crashes either


def test_clipped_input_is_delivered_with_a_warning(tmp_path, capsys):
    x = np.clip(programme(seconds=6) * 8, -1, 1)
    src = write(tmp_path / "clipped.wav", x, 48000, "PCM_16")
    code, err = run_deliver(capsys, src, tmp_path / "out.wav")
    assert code == 0 and "clipped" in err


def test_output_equal_to_input_is_refused(tmp_path, capsys):
    src = write(tmp_path / "same.wav", programme(seconds=3), 48000)
    before = open(src, "rb").read()
    code, err = run_deliver(capsys, src, src)
    assert code == 2 and "never overwrites its input" in err
    assert open(src, "rb").read() == before


def test_missing_output_folder(tmp_path, capsys):
    src = write(tmp_path / "in.wav", programme(seconds=3), 48000)
    code, err = run_deliver(capsys, src, tmp_path / "nope" / "out.wav")
    assert code == 2 and "does not exist" in err


def test_read_only_output_folder(tmp_path, capsys, monkeypatch):
    # Root ignores permission bits, so the folder is made to look read-only to this process.
    src = write(tmp_path / "in.wav", programme(seconds=3), 48000)
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o555)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if str(p) == str(ro) else real_access(p, mode))
    code, err = run_deliver(capsys, src, ro / "out.wav")
    assert code == 2 and "not writable" in err
    assert list(ro.iterdir()) == []


def test_folder_that_refuses_files_at_write_time(tmp_path, capsys, monkeypatch):
    # Permission lost between the check and the write: the temporary file cannot be made.
    import tempfile

    src = write(tmp_path / "in.wav", programme(seconds=3), 48000)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    code, err = run_deliver(capsys, src, tmp_path / "out.wav")
    assert code == 2 and "cannot create a file" in err
    assert not (tmp_path / "out.wav").exists()


def test_wrong_extension_for_the_spec(tmp_path, capsys):
    src = write(tmp_path / "in.wav", programme(seconds=3), 48000)
    code, err = run_deliver(capsys, src, tmp_path / "out.wav", spec="acx")
    assert code == 2 and "*.mp3" in err


def test_disk_full_during_the_write_leaves_nothing(tmp_path):
    # A file-size limit makes the write fail part-way, as a full disk does.
    src = write(tmp_path / "in.wav", programme(seconds=20), 48000)
    out = tmp_path / "out.wav"

    def limit():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (1_000_000, 1_000_000))

    cmd = [sys.executable, "-m", "dxkit.cli", "deliver", src, "-o", str(out), "--spec", "ebu-r128"]
    proc = subprocess.run(cmd, preexec_fn=limit, capture_output=True, text=True)
    assert proc.returncode == 2, proc.stderr
    assert "dxkit: error:" in proc.stderr and len(proc.stderr.strip().splitlines()) == 1
    assert not out.exists() and leftovers(tmp_path) == []


def test_unknown_spec_and_bad_spec_file(tmp_path, capsys):
    src = write(tmp_path / "in.wav", programme(seconds=3), 48000)
    code, err = run_deliver(capsys, src, tmp_path / "o.wav", spec="bbc-r999")
    assert code == 2 and "unknown spec" in err
    bad = tmp_path / "bad.yaml"
    bad.write_text("loudness: {target: -23}\n")
    code, err = run_deliver(capsys, src, tmp_path / "o.wav", spec=str(bad))
    assert code == 2 and "output" in err


def test_user_spec_file_works(tmp_path, capsys):
    mine = tmp_path / "broadcaster.yaml"
    mine.write_text("name: broadcaster\nloudness: {measure: integrated, target: -20, tolerance: 0.5}\n"
                    "true_peak_max_dbtp: -2\noutput: {container: flac, sample_rate: 48000, bit_depth: 16}\n")
    src = write(tmp_path / "in.wav", programme(seconds=6), 48000)
    out = tmp_path / "o.flac"
    assert main(["deliver", src, "-o", str(out), "--spec", str(mine)]) == 0
    assert sf.info(str(out)).subtype == "PCM_16"
    assert main(["check", str(out), "--spec", str(mine)]) == 0


def test_a_reader_that_leaves_early_ends_the_output_quietly(tmp_path):
    """`dxkit measure x.wav | head -1`: no traceback when the pipe closes under the printing."""
    src = write(tmp_path / "a.wav", sine(1000, -20, seconds=2), 48000)
    read, write_end = os.pipe()
    os.close(read)  # the reader is gone before anything is printed
    proc = subprocess.run([sys.executable, "-m", "dxkit.cli", "measure", src], stdout=write_end,
                          stderr=subprocess.PIPE, text=True)
    os.close(write_end)
    assert proc.returncode == 1 and proc.stderr == ""
