"""Delivery of full mixes and production files made by other tools: a programme's spectrum is
kept (no high-pass unless asked), a 5.1 mix keeps its balance and its LFE, a recorder's tracks
are measured one by one and delivered one at a time, and a BWF's time reference and metadata
reach a WAV delivery (rescaled to its rate)."""

import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from dxkit import deliver, specs
from dxkit.deliver import bwf
from dxkit.deliver.errors import AudioInputError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from production import HOUR_48K, append_chunk, chunks, ffmpeg_bwf, ffprobe_tags, ixml  # noqa: E402
from signals import programme, sine, write  # noqa: E402

AVAILABLE = [n for n in specs.builtin_names() if not specs.load(n, allow_unavailable=True).unavailable]


def line_db(y: np.ndarray, rate: int, hz: float) -> float:
    """dB of the ``hz`` line in ``y`` (one channel, a Hann window), skipping the first and last second."""
    x = y[rate:-rate]
    spectrum = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    freqs = np.fft.rfftfreq(len(x), 1 / rate)
    return 20 * math.log10(spectrum[np.argmin(np.abs(freqs - hz))])


def decoded(path: Path) -> tuple[np.ndarray, int]:
    if path.suffix == ".mp3":
        wav = path.with_suffix(".decoded.wav")
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(path), str(wav)], check=True)
        path = wav
    y, rate = sf.read(str(path), always_2d=True)
    return y, rate


@pytest.mark.parametrize("name", AVAILABLE)
def test_a_bass_heavy_programme_keeps_its_spectrum_in_every_preset(tmp_path, name):
    """45 Hz against 1 kHz, before and after delivery: within 0.1 dB where the limiter is idle."""
    spec = specs.load(name)
    seconds = 8
    bass = sine(45, -18, seconds) + sine(1000, -24, seconds)
    src = write(tmp_path / "in.wav", np.stack([bass, bass]), 48000, "PCM_24")
    out = tmp_path / f"out{spec.output.suffix}"
    result = deliver(src, out, spec, dialogue=np.ones(seconds * 100, bool))
    assert result.limiter_reduction_db < 0.01, "this test is about the spectrum outside limiting"
    y, rate = decoded(out)
    change = (line_db(y[:, 0], rate, 45) - line_db(y[:, 0], rate, 1000)) - (-18 - -24)
    assert abs(change) < 0.1, f"{name}: 45 Hz moved {change:+.2f} dB against 1 kHz"


def test_a_5_1_mix_keeps_its_balance_and_its_lfe(tmp_path):
    seconds = 8
    bed = sine(200, -26, seconds)
    centre = sine(1000, -20, seconds)
    lfe = sine(50, -14, seconds)
    src = write(tmp_path / "mix.wav", np.stack([bed, bed, centre, lfe, bed, bed]), 48000, "PCM_24")
    out = tmp_path / "out.wav"
    deliver(src, out, "ebu-r128")
    y, rate = sf.read(str(out))
    before = {c: line_db(np.stack([bed, bed, centre, lfe, bed, bed])[c], 48000, f)
              for c, f in ((0, 200), (2, 1000), (3, 50), (4, 200))}
    after = {c: line_db(y[:, c], rate, f) for c, f in ((0, 200), (2, 1000), (3, 50), (4, 200))}
    gain = after[2] - before[2]
    for c in (0, 3, 4):
        assert abs(after[c] - before[c] - gain) < 0.1, f"channel {c} moved against the centre"
    assert ffprobe_tags(out)["channel_layout"] == "5.1"


def poly(path: Path, names: list[str]) -> Path:
    audio = np.stack([programme(4.0, 48000, channels=1, seed=s)[0] * 10 ** (-s / 20) for s in range(len(names))])
    ffmpeg_bwf(path, audio, 48000, HOUR_48K)
    append_chunk(path, b"iXML", ixml(names, HOUR_48K))
    return path


def test_measure_reads_each_track_of_a_recorder_file(tmp_path):
    src = poly(tmp_path / "take.wav", ["Boom", "Lav1", "Lav2", "Mix"])
    run = subprocess.run([sys.executable, "-m", "dxkit.cli", "measure", str(src), "--json"],
                         capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    tracks = json.loads(run.stdout)["tracks"]
    assert [t["track"] for t in tracks] == ["Boom", "Lav1", "Lav2", "Mix"]
    loudness = [t["integrated_lufs"] for t in tracks]
    assert loudness[0] - loudness[1] == pytest.approx(1.0, abs=0.3)  # track s is s dB down (and its own seed)


def test_deliver_takes_the_mix_track_or_the_one_named(tmp_path):
    src = poly(tmp_path / "take.wav", ["Boom", "Lav1", "Lav2", "Mix"])
    result = deliver(src, tmp_path / "mix.wav", "ebu-r128")
    assert result.after.channels == 1 and result.passed
    assert ffprobe_tags(tmp_path / "mix.wav")["time_reference"] == str(HOUR_48K)
    result = deliver(src, tmp_path / "lav.wav", "ebu-r128", track="Lav1")
    assert result.after.channels == 1 and result.before.integrated_lufs == pytest.approx(
        deliver(src, tmp_path / "two.wav", "ebu-r128", track="2").before.integrated_lufs)
    assert any("iXML" in w for w in result.warnings)


def test_a_recorder_file_without_a_mix_track_asks_for_one(tmp_path):
    src = poly(tmp_path / "take.wav", ["Boom", "Lav1", "Lav2"])
    with pytest.raises(AudioInputError, match="choose one with --track .*1 Boom, 2 Lav1, 3 Lav2"):
        deliver(src, tmp_path / "out.wav", "ebu-r128")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]


def test_a_bwf_keeps_its_metadata_through_delivery(tmp_path):
    src = ffmpeg_bwf(tmp_path / "take.wav", programme(4.0, 44100, channels=2), 44100, 3600 * 44100)
    document = ixml(["L", "R"])
    append_chunk(src, b"iXML", document)
    out = tmp_path / "out.wav"
    deliver(src, out, "ebu-r128")  # 48 kHz BWF
    tags = ffprobe_tags(out)
    assert tags["time_reference"] == str(HOUR_48K) and tags["comment"] == "Scene 12 take 3"
    assert "delivery to ebu-r128" in tags["coding_history"]
    assert chunks(out)[b"iXML"].rstrip(b"\0") == document
    for spec, rate in (("podcast", 44100), ("spotify", 44100)):  # MP3, FLAC: the time reference as a tag
        out = tmp_path / f"out{specs.load(spec).output.suffix}"
        result = deliver(src, out, spec)
        assert any("cannot hold the input's bext/iXML" in w for w in result.warnings)
        tags = {k.upper(): v for k, v in ffprobe_tags(out).items() if isinstance(k, str)}
        assert tags["TIME_REFERENCE"] == str(3600 * rate)
        assert tags.get("DESCRIPTION", tags.get("COMMENT")) == "Scene 12 take 3"  # ffprobe calls FLAC's "comment"
        assert result.after.frames == sf.info(str(out)).frames == round(4.0 * rate)  # still decodes whole


def test_rf64_files_carry_their_metadata_both_ways(tmp_path, monkeypatch):
    """An RF64 input (ffmpeg -rf64 always) is read; an output past the RIFF limit is written as
    RF64 with its bext and iXML (the limit lowered here, so the file can stay small)."""
    src = ffmpeg_bwf(tmp_path / "take.wav", programme(2.0, 48000, channels=2), 48000, HOUR_48K, rf64=True)
    assert src.read_bytes()[:4] == b"RF64"
    metadata = bwf.read_metadata(src)
    assert metadata.bext.time_reference == HOUR_48K
    plain = write(tmp_path / "plain.wav", programme(2.0, 48000, channels=2), 48000, "PCM_24")
    monkeypatch.setattr(bwf, "RIFF_LIMIT", 100_000)
    out = tmp_path / "big.wav"
    bwf.write_metadata(Path(plain), out, bwf.WavMetadata(metadata.bext, ixml(["A", "B"]), None))
    assert out.read_bytes()[:4] == b"RF64"
    assert ffprobe_tags(out)["time_reference"] == str(HOUR_48K)
    assert np.array_equal(sf.read(str(out))[0], sf.read(plain)[0])


@pytest.mark.parametrize("channels, expected", [(3, "3.0"), (5, "5.0(side)"), (6, "5.1"), (8, "7.1")])
def test_every_mix_is_written_with_its_channel_mask(tmp_path, channels, expected):
    src = write(tmp_path / "in.wav", programme(3.0, 48000, channels=channels), 48000, "PCM_24")
    out = tmp_path / "out.wav"
    deliver(src, out, "ebu-r128")
    assert ffprobe_tags(out)["channel_layout"] == expected  # read by ffprobe from the mask


def test_track_names_follow_the_interleave_index_and_time_references_round_once():
    from dxkit.deliver.bwf import rescaled
    from dxkit.deliver.layout import layout_of

    document = (b"<BWFXML><TRACK_LIST><TRACK_COUNT>3</TRACK_COUNT>"
                b"<TRACK><CHANNEL_INDEX>2</CHANNEL_INDEX><INTERLEAVE_INDEX>1</INTERLEAVE_INDEX><NAME>Boom</NAME></TRACK>"
                b"<TRACK><CHANNEL_INDEX>4</CHANNEL_INDEX><INTERLEAVE_INDEX>2</INTERLEAVE_INDEX><NAME>Lav1</NAME></TRACK>"
                b"<TRACK><CHANNEL_INDEX>5</CHANNEL_INDEX><INTERLEAVE_INDEX>3</INTERLEAVE_INDEX><NAME>Mix</NAME></TRACK>"
                b"</TRACK_LIST></BWFXML>")  # tracks 1 and 3 of the recorder were disarmed
    assert layout_of(3, 0x7, document).roles == ("Boom", "Lav1", "Mix")
    assert rescaled(3600 * 44100, 44100, 48000) == 3600 * 48000
    assert rescaled(3, 96000, 48000) == 2 and rescaled(2, 48000, 96000) == 4


def test_broken_metadata_does_not_stop_a_measurement(tmp_path):
    src = Path(write(tmp_path / "in.wav", programme(2.0, 48000, channels=2), 48000, "PCM_24"))
    append_chunk(src, b"iXML", b"<BWFXML><TRACK_LIST>")
    run = subprocess.run([sys.executable, "-m", "dxkit.cli", "measure", str(src), "--json"], capture_output=True, text=True)
    assert run.returncode == 0 and json.loads(run.stdout)["channels"] == 2
