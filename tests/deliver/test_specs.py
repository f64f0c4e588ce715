"""Spec presets: every row of SPECS.md loads with the right limits; bad files are refused."""

import pytest

from dxkit import specs
from dxkit.deliver.errors import SpecError

EXPECTED = {  # name: (measure, target, low, high, true peak)
    "spotify": ("integrated", -14, -15, -13, -1),
    "apple": ("integrated", -16, -17, -15, -1),
    "podcast": ("integrated", -16, -17, -15, -1),
    "ebu-r128": ("integrated", -23, -23.2, -22.8, -1),
    "ebu-r128-s1": ("integrated", -23, -23.2, -22.8, -1),
    "cst-rt-040": ("integrated", -23, -24, -22, -3),
    "acx": ("rms", -20, -23, -18, -3),
    "atsc-a85": ("integrated", -24, -26, -22, -2),
    "aes-td1008-speech": ("integrated", -18, -20, -16, -1),
    "netflix": ("dialogue", -27, -29, -25, -2),
}


def test_every_destination_is_a_preset():
    assert set(specs.builtin_names()) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_preset_limits(name):
    s = specs.load(name, allow_unavailable=True)
    measure, target, low, high, tp = EXPECTED[name]
    assert (s.measure, s.target, s.true_peak_max_dbtp) == (measure, target, tp)
    assert s.low == pytest.approx(low) and s.high == pytest.approx(high)


def test_special_limits():
    assert specs.load("spotify").render_ceiling_dbtp == -2.0
    assert specs.load("ebu-r128-s1").max_short_term_lufs == -18.0
    assert specs.load("cst-rt-040").lra_max_lu == 20.0
    acx = specs.load("acx")
    acx_limits = (acx.sample_peak_max_dbfs, acx.noise_floor_max_db, acx.duration_max_s)  # file length limit
    assert acx_limits == (-3.0, -60.0, 7200)
    netflix = specs.load("netflix", allow_unavailable=True)
    assert (netflix.fallback_below_fraction, netflix.fallback_low, netflix.fallback_high) == (0.15, -26.0, -22.0)
    assert (acx.output.container, acx.output.bitrate_kbps, acx.output.sample_rate) == ("mp3", 192, 44100)
    assert specs.load("ebu-r128").output.bwf


def test_netflix_is_available_and_measures_the_dialogue():
    netflix = specs.load("netflix")
    assert netflix.needs_dialogue and not netflix.unavailable


@pytest.mark.parametrize("text, message", [
    ("[1, 2", "not valid YAML"),
    ("- a list", "mapping"),
    ("loudness: {target: -23, tolerance: 1}\ntrue_peak_max_dbtp: -1\n"
     "output: {container: ogg, sample_rate: 48000}", "container"),
    ("loudness: {target: -23}\ntrue_peak_max_dbtp: -1\n"
     "output: {container: wav, sample_rate: 48000, bit_depth: 24}", "tolerance"),
    ("loudness: {target: -23, tolerance: 1}\ntrue_peak_max_dbtp: loud\n"
     "output: {container: wav, sample_rate: 48000, bit_depth: 24}", "must be a finite number"),
    ("loudness: {target: -23, tolerance: 1}\ntrue_peak_max_dbtp: -1\n"
     "output: {container: mp3, sample_rate: 44100, bitrate_kbps: 100}", "bitrate_kbps"),
    ("loudness: {target: -23, tolerance: 1}\ntrue_peak_max_dbtp: .nan\n"
     "output: {container: wav, sample_rate: 48000, bit_depth: 24}", "finite"),
    ("loudness: {target: -23, tolerance: .inf}\ntrue_peak_max_dbtp: -1\n"
     "output: {container: wav, sample_rate: 48000, bit_depth: 24}", "finite"),
    ("loudness: {target: -23, tolerance: 1}\ntrue_peak_max_dbtp: -1\n"
     "output: {container: wav, sample_rate: .inf, bit_depth: 24}", "finite"),
    ("loudness: {target: -23, tolerance: 1}\ntrue_peak_max_dbtp: -1\n"
     "output: {container: wav, sample_rate: 48000, accepted_sample_rates: [44100], bit_depth: 24}",
     "not among"),
    ("loudness: {measure: dialogue, target: -27, tolerance: 2, fallback: {below_fraction: 0.15}}\n"
     "true_peak_max_dbtp: -2\noutput: {container: wav, sample_rate: 48000, bit_depth: 24}", "fallback needs"),
    ("loudness: {target: -23, tolerance: 1, fallback: {below_fraction: 0.1, target: -20, tolerance: 2}}\n"
     "true_peak_max_dbtp: -1\noutput: {container: wav, sample_rate: 48000, bit_depth: 24}", "dialogue only"),
    ("loudness: {measure: dialogue, target: -27, tolerance: 2, fallback: {below_fraction: 1.5, target: -24, "
     "tolerance: 2}}\ntrue_peak_max_dbtp: -2\noutput: {container: wav, sample_rate: 48000, bit_depth: 24}",
     "between 0 and 1"),
    ("loudness: {measure: dialogue, target: -27, tolerance: 2, fallback: {below_fraction: 0.15, target: ~, "
     "tolerance: 2}}\ntrue_peak_max_dbtp: -2\noutput: {container: wav, sample_rate: 48000, bit_depth: 24}",
     "missing required field 'target'"),
    ("loudness: {measure: dialogue, target: -27, tolerance: 2, fallback: {below_fraction: 0.15, target: -24, "
     "tolerance: -2}}\ntrue_peak_max_dbtp: -2\noutput: {container: wav, sample_rate: 48000, bit_depth: 24}",
     "must not be negative"),
    ("loudness: {target: -23, tolerance: 1}\ntrue_peak_max_dbtp: -1\nroom_tone: maybe\n"
     "output: {container: wav, sample_rate: 48000, bit_depth: 24}", "true or false"),
])
def test_malformed_spec_files(tmp_path, text, message):
    path = tmp_path / "mine.yaml"
    path.write_text(text)
    with pytest.raises(SpecError, match=message):
        specs.load(str(path))


def test_spec_file_not_utf8(tmp_path):
    path = tmp_path / "latin1.yaml"
    path.write_bytes("notes: \xb11 LU\n".encode("latin-1"))
    with pytest.raises(SpecError, match="UTF-8"):
        specs.load(str(path))


def test_spec_as_path_object(tmp_path):
    from pathlib import Path

    path = tmp_path / "mine.yaml"
    path.write_text("loudness: {target: -20, tolerance: 1}\ntrue_peak_max_dbtp: -1\n"
                    "output: {container: wav, sample_rate: 48000, bit_depth: 24}\n")
    assert specs.resolve(Path(path)).target == -20
