"""Restore on production files made by other tools: a polyphonic BWF from ffmpeg with an iXML
track list keeps its time reference, metadata, rate, depth and tracks; in 5.1 and 7.1 mixes only
the dialogue channel is restored and every other channel comes back bit for bit; broken
metadata is refused cleanly."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from production import HOUR_48K, append_chunk, chunks, ffmpeg_bwf, ffprobe_tags, ixml, set_mask  # noqa: E402
from signals import programme, sine, write  # noqa: E402

TRACKS = ["Boom", "Lav1", "Lav2", "Mix"]


def restore(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "dxkit.cli", "restore", *map(str, args), "--chain", "debug"],
                          capture_output=True, text=True)


def take(path: Path, rate: int = 48000, seconds: float = 2.0, reference: int = HOUR_48K) -> tuple[Path, bytes]:
    """A 4-track take as a recorder writes it (bext by ffmpeg, iXML with the track names)."""
    audio = np.stack([programme(seconds, rate, channels=1, seed=s)[0] * 0.5 for s in range(4)])
    ffmpeg_bwf(path, audio, rate, reference)
    document = ixml(TRACKS, reference)
    append_chunk(path, b"iXML", document)
    return path, document


def test_a_polyphonic_bwf_keeps_tracks_time_reference_and_metadata(tmp_path):
    src, document = take(tmp_path / "take.wav")
    out = tmp_path / "out.wav"
    run = restore(src, "-o", out)
    assert run.returncode == 0, run.stderr
    info, before = sf.info(out), sf.info(src)
    assert (info.samplerate, info.channels, info.subtype, info.frames) == (48000, 4, "PCM_24", before.frames)
    tags = ffprobe_tags(out)  # an independent reader of the bext chunk
    assert tags["time_reference"] == str(HOUR_48K)
    assert tags["comment"] == "Scene 12 take 3" and tags["encoded_by"] == "SoundDev"
    assert "dxkit" in tags["coding_history"] and "restore" in tags["coding_history"]
    assert chunks(out)[b"iXML"].rstrip(b"\0") == document  # track names, scene and take as they were
    restored, _ = sf.read(out)
    original, _ = sf.read(src)
    assert all(not np.array_equal(restored[:, c], original[:, c]) for c in range(4))  # every track restored


def test_a_44k_take_delivered_at_48k_keeps_its_place_on_the_timeline(tmp_path):
    reference = 3600 * 44100  # 01:00:00:00 at 44.1 kHz
    src, _ = take(tmp_path / "take.wav", rate=44100, reference=reference)
    out = tmp_path / "out.wav"
    run = restore(src, "-o", out, "--spec", "ebu-r128", "--track", "Mix")
    assert run.returncode == 0, run.stderr
    tags = ffprobe_tags(out)
    assert tags["sample_rate"] == 48000 and tags["channels"] == 1
    assert tags["time_reference"] == str(HOUR_48K)  # the same instant at 48 kHz
    assert b"<TRACK_LIST>" not in chunks(out).get(b"iXML", b"")  # it listed four tracks; this file has one


def test_a_44k_take_restored_stays_at_44k_with_its_ixml_time_reference(tmp_path):
    reference = 3600 * 44100
    src, document = take(tmp_path / "take.wav", rate=44100, reference=reference)
    out = tmp_path / "out.wav"
    assert restore(src, "-o", out, "--bit-depth", "float").returncode == 0
    info = sf.info(out)
    assert (info.samplerate, info.subtype, info.frames) == (44100, "FLOAT", sf.info(src).frames)
    assert ffprobe_tags(out)["time_reference"] == str(reference)
    assert chunks(out)[b"iXML"].rstrip(b"\0") == document


def mix(layout: str, seconds: float = 2.0) -> np.ndarray:
    """A mix with something in every channel: dialogue in the centre, a 50 Hz line in the LFE,
    a different tone in each other channel."""
    voice = programme(seconds, 48000, channels=1, seed=3)[0] * 0.5
    roles = {"5.1": ["L", "R", "C", "LFE", "Ls", "Rs"], "7.1": ["L", "R", "C", "LFE", "Lb", "Rb", "Ls", "Rs"],
             "5.1-film": ["L", "C", "R", "Ls", "Rs", "LFE"]}[layout]
    out = []
    for i, role in enumerate(roles):
        out.append(voice if role == "C" else sine(50, -12, seconds) if role == "LFE" else
                   sine(220 * (i + 1), -20, seconds) + 0.01 * np.random.default_rng(i).standard_normal(len(voice)))
    return np.stack(out).astype(np.float32)


@pytest.mark.parametrize("layout, mask, ffprobe_layout", [("5.1", 0x3F, "5.1"), ("7.1", 0x63F, "7.1"),
                                                           ("5.1-film", None, None)])
def test_only_the_dialogue_channel_of_a_mix_is_restored(tmp_path, layout, mask, ffprobe_layout):
    audio = mix(layout)
    src = Path(write(tmp_path / "mix.wav", audio, 48000, "PCM_24"))
    if mask is not None:
        set_mask(src, mask)
    out = tmp_path / "out.wav"
    run = restore(src, "-o", out, *(["--layout", layout] if mask is None else []))
    assert run.returncode == 0, run.stderr
    restored, _ = sf.read(out, dtype="int32")
    original, _ = sf.read(src, dtype="int32")
    centre = 1 if layout == "5.1-film" else 2
    for c in range(audio.shape[0]):
        if c == centre:
            assert not np.array_equal(restored[:, c], original[:, c])
        else:
            assert np.array_equal(restored[:, c], original[:, c]), f"channel {c} changed"
    assert ffprobe_tags(out)["channel_layout"] == ffprobe_layout or mask is None


def test_channels_chooses_what_is_restored(tmp_path):
    audio = mix("5.1")
    src = Path(write(tmp_path / "mix.wav", audio, 48000, "PCM_24"))
    out = tmp_path / "out.wav"
    assert restore(src, "-o", out, "--channels", "L,R").returncode == 0
    restored, _ = sf.read(out, dtype="int32")
    original, _ = sf.read(src, dtype="int32")
    changed = [c for c in range(6) if not np.array_equal(restored[:, c], original[:, c])]
    assert changed == [0, 1]


def broken_bext(path: Path) -> None:
    write(path, programme(1.0, 48000, channels=1), 48000, "PCM_24")
    append_chunk(path, b"bext", b"too short")


def broken_ixml(path: Path) -> None:
    write(path, programme(1.0, 48000, channels=1), 48000, "PCM_24")
    append_chunk(path, b"iXML", b"<BWFXML><TRACK_LIST>")


def lying_mask(path: Path) -> None:
    write(path, programme(1.0, 48000, channels=2), 48000, "PCM_24")
    set_mask(path, 0x3F)  # says 5.1; the file has two channels


@pytest.mark.parametrize("make, message", [(broken_bext, "fewer than the 602"),
                                           (broken_ixml, "iXML chunk is not XML"),
                                           (lying_mask, "names 6 speakers but the file has 2 channels")])
def test_broken_metadata_is_refused_cleanly(tmp_path, make, message):
    src = tmp_path / "in.wav"
    make(src)
    before = src.read_bytes()
    run = restore(src, "-o", tmp_path / "out.wav")
    assert run.returncode == 2 and message in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.wav"] and src.read_bytes() == before


def test_restore_then_deliver_high_passes_the_dialogue_channel_only(tmp_path):
    """The dialogue high-pass after restore is for what the networks restored: a 5.1 mix's bed
    keeps its 45 Hz, the LFE its 50 Hz."""
    seconds = 6
    voice = programme(seconds, 48000, channels=1, seed=3)[0] * 0.5
    bed = sine(45, -20, seconds) + sine(1000, -26, seconds)
    lfe = sine(50, -14, seconds)
    audio = np.stack([bed, bed, voice, lfe, bed, bed]).astype(np.float32)
    src = Path(write(tmp_path / "mix.wav", audio, 48000, "PCM_24"))
    out = tmp_path / "tv.wav"
    run = restore(src, "-o", out, "--spec", "ebu-r128")
    assert run.returncode == 0, run.stderr
    y, rate = sf.read(out)

    def line(x, hz):
        x = x[rate:-rate]
        spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
        return 20 * np.log10(spectrum[np.argmin(np.abs(np.fft.rfftfreq(len(x), 1 / rate) - hz))])

    assert abs((line(y[:, 0], 45) - line(y[:, 0], 1000)) - (line(bed, 45) - line(bed, 1000))) < 0.1
    assert abs((line(y[:, 3], 50) - line(y[:, 0], 1000)) - (line(lfe, 50) - line(bed, 1000))) < 0.1


def test_a_track_that_is_not_there_fails_before_the_networks_run(tmp_path):
    src, _ = take(tmp_path / "take.wav")
    run = restore(src, "-o", tmp_path / "out.wav", "--spec", "ebu-r128", "--track", "Lav9")
    assert run.returncode == 2 and "'Lav9' is not in this 4-track file" in run.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]


@pytest.mark.parametrize("args, message", [(["--track", "Mix"], "--track, --highpass and --keep-ends are for the delivery"),
                                           (["--spec", "ebu-r128", "--bit-depth", "16"], "--bit-depth is for --spec none")])
def test_options_that_do_not_apply_are_refused(tmp_path, args, message):
    src, _ = take(tmp_path / "take.wav")
    run = restore(src, "-o", tmp_path / "out.wav", *args)
    assert run.returncode == 2 and message in run.stderr


def test_a_restored_file_does_not_keep_the_takes_loudness_fields(tmp_path):
    from dxkit.deliver.bwf import read_metadata

    src = Path(write(tmp_path / "in.wav", programme(2.0, 48000, channels=1), 48000, "PCM_24"))
    subprocess.run([sys.executable, "-m", "dxkit.cli", "deliver", str(src), "-o", str(tmp_path / "tv.wav"),
                    "--spec", "ebu-r128"], check=True, capture_output=True)
    assert read_metadata(tmp_path / "tv.wav").bext.loudness["loudness_value"] is not None
    assert restore(tmp_path / "tv.wav", "-o", tmp_path / "out.wav").returncode == 0
    bext = read_metadata(tmp_path / "out.wav").bext
    assert bext.description == "dxkit delivery to ebu-r128"
    assert all(value is None for value in bext.loudness.values())  # they described the take, not this file


def test_ixml_says_the_rate_and_depth_of_the_file_it_is_in(tmp_path):
    audio = np.stack([programme(2.0, 44100, channels=1, seed=s)[0] * 0.5 for s in range(4)])
    src = ffmpeg_bwf(tmp_path / "take.wav", audio, 44100, 3600 * 44100)
    document = ixml(TRACKS, 3600 * 44100).replace(
        b"</BWFXML>", b"<SPEED><FILE_SAMPLE_RATE>44100</FILE_SAMPLE_RATE><AUDIO_BIT_DEPTH>24</AUDIO_BIT_DEPTH></SPEED></BWFXML>")
    append_chunk(src, b"iXML", document)
    assert restore(src, "-o", tmp_path / "float.wav", "--bit-depth", "float").returncode == 0
    kept = chunks(tmp_path / "float.wav")[b"iXML"]
    assert b"<FILE_SAMPLE_RATE>44100<" in kept and b"<AUDIO_BIT_DEPTH>32<" in kept
    assert kept.replace(b"<AUDIO_BIT_DEPTH>32<", b"<AUDIO_BIT_DEPTH>24<").rstrip(b"\0") == document
