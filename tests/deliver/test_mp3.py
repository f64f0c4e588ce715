"""The MP3 encoder: LAME through lameenc behind an Info/LAME tag frame written here. Decoders
(libsndfile's mpg123 and ffmpeg, independently) must give back exactly the samples encoded, in
place, and the tag's counts and CRCs must match the stream."""

import shutil
import struct
import subprocess

import numpy as np
import pytest
import soundfile as sf

from dxkit.deliver import lametag
from dxkit.deliver.encode import Encoder
from dxkit.deliver.specs import Output
from signals import programme


def encode(path, signal, rate, kbps=192):
    encoder = Encoder(path, Output("mp3", rate, (rate,), bitrate_kbps=kbps), signal.shape[0], signal.shape[1])
    for start in range(0, signal.shape[1], 7001):  # odd blocks: the stream must not care
        encoder.write(signal[:, start:start + 7001].astype(np.float32))
    encoder.close()
    return path


def walk_frames(data: bytes, start: int) -> int:
    """Count the MPEG-1 Layer III frames from ``start`` to the end, checking each header."""
    count, pos = 0, start
    kbps = {v: k for k, v in lametag.BITRATE_INDEX.items()}
    rates = {v: k for k, v in lametag.RATE_INDEX.items()}
    while pos < len(data):
        h = data[pos:pos + 4]
        assert h[0] == 0xFF and h[1] & 0xFE == 0xFA, f"no frame header at byte {pos}"
        pos += lametag.frame_bytes(kbps[h[2] >> 4], rates[h[2] >> 2 & 3]) + (h[2] >> 1 & 1)
        count += 1
    assert pos == len(data)
    return count


@pytest.mark.parametrize("rate,channels,kbps", [(44100, 2, 192), (48000, 1, 128), (44100, 1, 64)])
def test_decoders_return_every_sample_in_place(tmp_path, rate, channels, kbps):
    signal = programme(seconds=3.3, rate=rate, channels=channels, seed=2) * 0.5
    path = encode(tmp_path / "x.mp3", signal, rate, kbps)
    decoded, got_rate = sf.read(str(path), dtype="float32", always_2d=True)
    assert got_rate == rate and decoded.shape == (signal.shape[1], channels)
    # In place: the decoded signal lines up with the input at lag 0, not 1105 samples late.
    a, b = signal[0, rate:2 * rate], decoded[rate - 2000:2 * rate + 2000, 0]
    lag = int(np.argmax(np.correlate(b, a, "valid"))) - 2000
    assert lag == 0
    error = decoded.T - signal
    assert 10 * np.log10(np.sum(signal ** 2) / np.sum(error ** 2)) > 10
    if shutil.which("ffmpeg"):
        raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "f32le", "-"],
                             capture_output=True, check=True).stdout
        assert len(raw) // (4 * channels) == signal.shape[1]


def test_tag_counts_and_crcs_match_the_stream(tmp_path):
    signal = programme(seconds=2.0, rate=44100, seed=4) * 0.5
    data = encode(tmp_path / "x.mp3", signal, 44100).read_bytes()
    size = lametag.frame_bytes(192, 44100)
    tag = data[36:]
    assert tag[:4] == b"Info"
    flags, frames, total = struct.unpack(">III", tag[4:16])
    assert flags == 0x0F and total == len(data)
    assert frames == walk_frames(data, size)
    lame = tag[120:156]
    assert lame[:9] == b"LAME3.100" and lame[20] == 192
    delay_padding = int.from_bytes(lame[21:24], "big")
    delay, padding = delay_padding >> 12, delay_padding & 0xFFF
    assert delay == lametag.ENCODER_DELAY and frames * 1152 == delay + signal.shape[1] + padding
    length, music_crc, tag_crc = struct.unpack(">IHH", lame[28:36])
    assert length == len(data)
    assert music_crc == lametag.crc16(data[size:])
    assert tag_crc == lametag.crc16(data[:190])
    assert list(tag[16:116]) == sorted(tag[16:116])  # the seek table only moves forward


def test_crc_in_pieces_equals_the_crc_in_one_go():
    rng = np.random.default_rng(0)
    data = rng.integers(0, 256, 2 * lametag.MusicCrc.BATCH + 1234, dtype=np.uint8).tobytes()
    crc = lametag.MusicCrc()
    cuts = np.sort(rng.integers(0, len(data), 9))
    for a, b in zip(np.r_[0, cuts], np.r_[cuts, len(data)]):
        crc.update(data[a:b])
    assert crc.result() == lametag.crc16(data)
    assert lametag.crc16(b"123456789") == 0xBB3D  # CRC-16/ARC's published check value
