"""The meter against the standards: BS.1770-5, EBU Tech 3341 (M/S/I, true peak), Tech 3342 (LRA).

The test signals are synthesised from the descriptions in the Tech 3341/3342 tables; the
tolerances are the standards' (±0.1 LU for loudness, ±1 LU for LRA, +0.2/-0.4 dB true peak).
"""

import math

import numpy as np
import pytest

from dxkit.deliver.meter import Meter, k_weighting, measure
from dxkit.deliver.truepeak import true_peak
from independent import libebur128, pyloudnorm_lufs
from signals import programme, sine, write


def meter_of(channels_list, rate=48000, block=None):
    x = np.stack(channels_list).astype(np.float32)
    m = Meter(rate, x.shape[0])
    step = block or x.shape[1]
    for i in range(0, x.shape[1], step):
        m.add(x[:, i:i + step])
    return m.result()


def stereo_sequence(parts, rate=48000, freq=1000.0):
    """Concatenated (dBFS, seconds) 1 kHz sine segments, the same in both channels."""
    x = np.concatenate([sine(freq, db, s, rate) for db, s in parts])
    return [x, x]


def test_k_weighting_matches_bs1770_table_at_48k():
    # BS.1770-5 Annex 1, Tables 1 and 2 (pre-filter and RLB high-pass at 48 kHz).
    sos = k_weighting(48000)
    assert sos[0] == pytest.approx([1.53512485958697, -2.69169618940638, 1.19839281085285,
                                    1.0, -1.69065929318241, 0.73248077421585], abs=1e-8)
    assert sos[1] == pytest.approx([1.0, -2.0, 1.0, 1.0, -1.99004745483398, 0.99007225036621], abs=1e-8)


@pytest.mark.parametrize("parts, expected", [
    ([(-23, 20)], -23.0),  # Tech 3341 case 1
    ([(-33, 20)], -33.0),  # case 2
    ([(-36, 10), (-23, 60), (-36, 10)], -23.0),  # case 3: relative gate removes -36
    ([(-72, 10), (-36, 10), (-23, 60), (-36, 10), (-72, 10)], -23.0),  # case 4: both gates
    ([(-26, 20), (-20, 20.1), (-26, 20)], -23.0),  # case 5
])
def test_tech3341_integrated(parts, expected):
    m = meter_of(stereo_sequence(parts))
    assert m.integrated_lufs == pytest.approx(expected, abs=0.1)


def test_tech3341_case1_momentary_and_short_term():
    m = meter_of(stereo_sequence([(-23, 20)]))
    assert m.max_momentary_lufs == pytest.approx(-23.0, abs=0.1)
    assert m.max_short_term_lufs == pytest.approx(-23.0, abs=0.1)


@pytest.mark.parametrize("rate", [44100, 48000, 96000, 192000, 32000])
def test_integrated_is_rate_independent(rate):
    m = meter_of(stereo_sequence([(-23, 10)], rate=rate), rate=rate)
    assert m.integrated_lufs == pytest.approx(-23.0, abs=0.1)


def test_tech3341_case6_five_channels():
    # L, R at -28 dBFS, C at -24, Ls, Rs at -30 (surrounds weighted 1.41): -23 LUFS.
    levels = [-28, -28, -24, -30, -30]
    m = meter_of([sine(1000, db, 20) for db in levels])
    assert m.integrated_lufs == pytest.approx(-23.0, abs=0.1)


def test_lfe_is_excluded_in_5_1():
    five = [sine(1000, db, 10) for db in (-28, -28, -24, -30, -30)]
    with_lfe = five[:3] + [sine(60, -6, 10)] + five[3:]
    assert meter_of(with_lfe).integrated_lufs == pytest.approx(-23.0, abs=0.1)


def test_tech3341_case9_short_term_is_constant():
    # 20 x (1.34 s at -20 dBFS, 1.66 s at -30 dBFS): every 3 s window reads -23 ±0.1 LUFS.
    m = meter_of(stereo_sequence([(-20, 1.34), (-30, 1.66)] * 20))
    steady = m.short_term_lufs[(m.short_term_times_s >= 3.0) & (m.short_term_times_s <= 57.0)]
    assert steady.min() >= -23.1 and steady.max() <= -22.9


def test_momentary_max_found_between_100ms_polls():
    # A 0.43 s burst at -20 dBFS placed off the 100 ms grid: a 10 ms hop still sees the whole
    # 400 ms window inside it, so max momentary is -20 ±0.1 (100 ms polling would read low).
    x = np.zeros(int(4.0 * 48000))
    start = int(1.2345 * 48000)
    burst = sine(1000, -20, 0.43)
    x[start:start + burst.size] = burst
    assert meter_of([x, x]).max_momentary_lufs == pytest.approx(-20.0, abs=0.1)


@pytest.mark.parametrize("parts, expected", [
    ([(-20, 20), (-30, 20)], 10.0),  # Tech 3342 case 1
    ([(-20, 20), (-15, 20)], 5.0),  # case 2
    ([(-40, 20), (-20, 20)], 20.0),  # case 3
    ([(-50, 20), (-35, 20), (-20, 20), (-35, 20), (-50, 20)], 15.0),  # case 4
])
def test_tech3342_loudness_range(parts, expected):
    assert meter_of(stereo_sequence(parts)).lra_lu == pytest.approx(expected, abs=1.0)


def test_silence_and_short_files_have_no_integrated_loudness():
    silent = meter_of([np.zeros(48000 * 2)])
    assert silent.integrated_lufs is None and silent.lra_lu is None
    assert silent.to_json()["true_peak_dbtp"] is None
    short = meter_of([sine(1000, -10, 0.3)])
    assert short.integrated_lufs is None and short.max_momentary_lufs is None
    assert short.true_peak_dbtp == pytest.approx(-10.0, abs=0.1)
    quiet = meter_of([sine(1000, -80, 5)])  # under the -70 LUFS absolute gate
    assert quiet.integrated_lufs is None


@pytest.mark.parametrize("rate", [44100, 48000, 96000, 192000])
@pytest.mark.parametrize("freq_ratio", [0.02, 0.25, 0.4])
def test_true_peak_of_intersample_sines(rate, freq_ratio):
    # A sine's true peak is its amplitude; phases are chosen so samples straddle the crest.
    # Tech 3341 true-peak tolerance: +0.2 / -0.4 dB.
    freq = min(freq_ratio * rate, 20000.0)
    for phase in np.linspace(0.1, np.pi / 2, 5):
        x = sine(freq, -6.0, 1.0, rate, phase)
        ramp = np.sin(np.linspace(0, np.pi / 2, rate // 20)) ** 2  # fades: no onset ringing
        x[:ramp.size] *= ramp
        x[-ramp.size:] *= ramp[::-1]
        tp = 20 * math.log10(true_peak(x.reshape(1, -1), rate))
        assert -6.4 <= tp <= -5.8


def test_true_peak_reads_above_sample_peak():
    # fs/4 at 45 degrees: every sample is at 0.707 of the crest: sample peak -3 dB below true.
    x = sine(12000, 0.0, 1.0, 48000, np.pi / 4)
    m = meter_of([x])
    assert m.sample_peak_dbfs == pytest.approx(-3.01, abs=0.01)
    assert -0.4 <= m.true_peak_dbtp <= 0.2
    assert m.to_json()["true_peak_dbtp"] > m.to_json()["sample_peak_dbfs"]


def test_rms_and_noise_floor():
    x = np.concatenate([sine(1000, -10, 3), 10 ** (-60 / 20) * np.random.default_rng(0).standard_normal(48000)])
    m = meter_of([x])
    assert m.noise_floor_db == pytest.approx(-60.0, abs=0.2)
    expected = 10 * math.log10((3 * 10 ** (-1) / 2 + 1 * 10 ** (-6)) / 4)
    assert m.rms_db == pytest.approx(expected, abs=0.05)


def test_streaming_matches_one_block():
    x = programme(seconds=12)
    whole = meter_of(list(x))
    for block in (1000, 4801, 48000):
        part = meter_of(list(x), block=block)
        assert part.integrated_lufs == pytest.approx(whole.integrated_lufs, abs=1e-6)
        assert part.true_peak_dbtp == pytest.approx(whole.true_peak_dbtp, abs=1e-6)
        assert part.lra_lu == pytest.approx(whole.lra_lu, abs=1e-6)
        assert part.max_momentary_lufs == pytest.approx(whole.max_momentary_lufs, abs=1e-6)


@pytest.mark.parametrize("rate, channels", [(48000, 2), (44100, 1), (96000, 2), (48000, 6)])
def test_agrees_with_libebur128(tmp_path, rate, channels):
    x = programme(seconds=20, rate=rate, channels=channels, seed=3)
    path = write(tmp_path / "p.wav", x, rate)
    ours = measure(path)
    ref = libebur128(path)
    assert ours.integrated_lufs == pytest.approx(ref["integrated_lufs"], abs=0.1)
    assert ours.true_peak_dbtp == pytest.approx(ref["true_peak_dbtp"], abs=0.3)
    assert ours.lra_lu == pytest.approx(ref["lra_lu"], abs=1.0)
    if channels <= 2:  # the second independent meter
        assert ours.integrated_lufs == pytest.approx(pyloudnorm_lufs(path), abs=0.1)
