"""Loudness and level meter: ITU-R BS.1770-5, EBU Tech 3341 (M/S/I), EBU Tech 3342 (LRA).

The meter streams: feed it blocks ``[C, T]`` with ``add`` and read a ``Measurement`` with
``result``. Memory grows only by a few numbers per 10 ms of audio, never by the samples.

How it works: the K-weighted, channel-weighted power is summed over 10 ms sub-blocks. Every
window the standards use is a whole number of sub-blocks (400 ms momentary = 40, 3 s
short-term = 300, the 100 ms gating hop = 10), so momentary and short-term loudness come out at
a 10 ms hop, fine enough that their maxima do not read low (Tech 3341 sec. 2.3 asks for at least
10 Hz; SPECS.md notes 100 ms polling reads up to 0.45 LU low). At rates where 10 ms is not a
whole number of samples (11.025/22.05 kHz) the sub-block is rounded to whole samples.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view
from scipy.signal import sosfilt

from .audio import probe, read_blocks
from .errors import AudioInputError
from .layout import BY_COUNT, MIXES, of_file, selection
from .truepeak import chunk_peaks, interpolator

ABSOLUTE_GATE_LUFS = -70.0  # BS.1770-5 eq. 5
RELATIVE_GATE_LU = -10.0  # BS.1770-5 eq. 6
LRA_RELATIVE_GATE_LU = -20.0  # Tech 3342 sec. 3
LRA_PERCENTILES = (10.0, 95.0)  # Tech 3342 sec. 3
MOMENTARY_SUBBLOCKS = 40  # 400 ms
SHORT_TERM_SUBBLOCKS = 300  # 3 s
GATING_HOP_SUBBLOCKS = 10  # 100 ms: 75 % overlap of 400 ms blocks; also the LRA 10 Hz rate
NOISE_FLOOR_SUBBLOCKS = 50  # 500 ms: the shortest room tone ACX asks for
TP_CHUNK = 64  # samples per true-peak value kept for the overs list
FULL_SCALE = 32767 / 32768  # a sample at or above this is at full scale (clipped)
MAX_OVERS_LISTED = 2000


def channel_weights(channels: int) -> tuple[float, ...]:
    """BS.1770 weights of the mix a channel count stands for (``layout.BY_COUNT``: WAV order);
    raise AudioInputError for a count no mix has."""
    if channels not in BY_COUNT:
        raise AudioInputError(f"{channels} channels: not a mix (dxkit meters {', '.join(BY_COUNT.values())}); "
                              "a recorder's tracks are measured one by one")
    return MIXES[BY_COUNT[channels]].weights


def k_weighting(sample_rate: int) -> np.ndarray:
    """The BS.1770 K-weighting filter at any rate, as second-order sections.

    BS.1770-5 Annex 1 tabulates the two biquads at 48 kHz only. Their analogue prototypes
    (a high shelf: f0 1681.97 Hz, gain 4.0 dB, Q 0.7072; a high-pass: f0 38.14 Hz, Q 0.5003),
    mapped with the bilinear transform, reproduce the table's coefficients at 48 kHz to 1e-8
    (tests/deliver/test_meter.py) and give the same filter at other rates.
    """
    f0, gain_db, q = 1681.974450955533, 3.999843853973347, 0.7071752369554196
    k = math.tan(math.pi * f0 / sample_rate)
    vh = 10 ** (gain_db / 20)
    vb = vh ** 0.4996667741545416
    a0 = 1 + k / q + k * k
    shelf = [(vh + vb * k / q + k * k) / a0, 2 * (k * k - vh) / a0, (vh - vb * k / q + k * k) / a0,
             1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    f0, q = 38.13547087602444, 0.5003270373238773
    k = math.tan(math.pi * f0 / sample_rate)
    a0 = 1 + k / q + k * k
    highpass = [1.0, -2.0, 1.0, 1.0, 2 * (k * k - 1) / a0, (1 - k / q + k * k) / a0]
    return np.array([shelf, highpass])


def to_db(power_or_amplitude: float, amplitude: bool = True) -> float:
    """Decibels of an amplitude (20 log10) or a power (10 log10); -inf for zero."""
    if power_or_amplitude <= 0:
        return -math.inf
    return (20 if amplitude else 10) * math.log10(power_or_amplitude)


def loudness_of_power(mean_power: np.ndarray | float) -> np.ndarray | float:
    # BS.1770-5 eq. 2: L = -0.691 + 10 log10(sum_i G_i z_i)
    with np.errstate(divide="ignore"):
        return -0.691 + 10 * np.log10(mean_power)


def gated_loudness(block_power: np.ndarray, relative_gate: float) -> tuple[float | None, np.ndarray]:
    """Loudness of the blocks that pass the absolute and relative gates, and those blocks."""
    levels = loudness_of_power(block_power)
    kept = block_power[levels > ABSOLUTE_GATE_LUFS]
    if kept.size == 0:
        return None, kept
    threshold = loudness_of_power(kept.mean()) + relative_gate
    kept = kept[loudness_of_power(kept) > threshold]
    if kept.size == 0:
        return None, kept
    return float(loudness_of_power(kept.mean())), kept


@dataclass
class Measurement:
    """Everything the meter reports about one signal. dB values are -inf for zero signal."""

    sample_rate: int
    channels: int
    frames: int
    integrated_lufs: float | None
    lra_lu: float | None
    true_peak_dbtp: float | None
    sample_peak_dbfs: float
    max_momentary_lufs: float | None
    max_short_term_lufs: float | None
    rms_db: float
    noise_floor_db: float
    clipped_samples: int
    short_term_lufs: np.ndarray = field(repr=False)  # at 100 ms hop, window ending at each time
    short_term_times_s: np.ndarray = field(repr=False)
    overs: list[tuple[float, float]] = field(repr=False, default_factory=list)  # (time s, dBTP)
    overs_threshold_dbtp: float | None = None
    over_count: int = 0
    # 10 ms sub-block sums of K-weighted and of plain power: what the leveler plans from.
    k_power_10ms: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    plain_power_10ms: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))
    peak_10ms: np.ndarray = field(repr=False, default_factory=lambda: np.zeros(0))  # sample peak, linear
    subblock_frames: int = 0
    # Set where a dialogue detector ran (``dialogue.with_dialogue``): the loudness over the
    # dialogue (None where none is found) and the share of the programme that is dialogue.
    dialogue_lufs: float | None = None
    dialogue_fraction: float | None = None
    room_tone: tuple | None = field(repr=False, default=None)  # (head, tail) ``dialogue.RoomTone``

    @property
    def duration_s(self) -> float:
        return self.frames / self.sample_rate

    def to_json(self) -> dict:
        """The stable ``dxkit measure --json`` object: numbers, or null where none exists."""

        def num(v: float | None) -> float | None:
            return None if v is None or not math.isfinite(v) else round(float(v), 2)

        return {
            "integrated_lufs": num(self.integrated_lufs),
            "lra_lu": num(self.lra_lu),
            "true_peak_dbtp": num(self.true_peak_dbtp),
            "sample_peak_dbfs": num(self.sample_peak_dbfs),
            "max_momentary_lufs": num(self.max_momentary_lufs),
            "max_short_term_lufs": num(self.max_short_term_lufs),
            "rms_db": num(self.rms_db),
            "noise_floor_db": num(self.noise_floor_db),
            "duration_s": round(self.duration_s, 3),
            "sample_rate": self.sample_rate,
            "channels": self.channels,
            "clipped_samples": self.clipped_samples,
            "dialogue_lufs": num(self.dialogue_lufs),
            "dialogue_fraction": None if self.dialogue_fraction is None else round(self.dialogue_fraction, 4),
        }


class Meter:
    """Streaming BS.1770 meter for one signal at one rate and channel count."""

    def __init__(self, sample_rate: int, channels: int, true_peak: bool = True,
                 overs_above_dbtp: float | None = None, weights: tuple[float, ...] | None = None):
        """``weights``: BS.1770 channel weights (``Layout.weights``); by default those of the
        mix the channel count stands for."""
        self.sample_rate = sample_rate
        self.channels = channels
        self._weights = np.asarray(weights if weights is not None else channel_weights(channels))
        if self._weights.shape != (channels,):
            raise ValueError(f"{len(self._weights)} channel weights for {channels} channels")
        self._sos = k_weighting(sample_rate)
        self._zi = np.zeros((self._sos.shape[0], channels, 2))
        self._sub = max(1, round(sample_rate / 100))
        self._pending = np.zeros((3, 0))  # rows: K-power, plain power, abs peak; < 1 sub-block
        self._sub_parts: list[np.ndarray] = []
        self._frames = 0
        self._clipped = 0
        self._true_peak = true_peak
        self._interp = interpolator(sample_rate)
        ctx = self._interp.context
        self._tp_tail = np.zeros((channels, 2 * ctx), dtype=np.float32)
        self._tp_pos = -ctx
        self._tp_max = 0.0
        self._overs_lin = None if overs_above_dbtp is None else 10 ** (overs_above_dbtp / 20)
        self._overs_db = overs_above_dbtp
        self._overs: list[tuple[float, float]] = []
        self._over_count = 0

    def add(self, block: np.ndarray) -> None:
        """Meter the next ``[C, T]`` block of the signal."""
        if block.shape[0] != self.channels:
            raise ValueError(f"block has {block.shape[0]} channels, meter expects {self.channels}")
        if block.shape[1] == 0:
            return
        self._frames += block.shape[1]
        magnitude = np.abs(block)
        rows = np.empty((3, block.shape[1]))
        rows[2] = magnitude.max(axis=0)
        if rows[2].max() >= FULL_SCALE:
            self._clipped += int(np.count_nonzero(magnitude >= FULL_SCALE))
        samples = block.astype(np.float64)
        weighted, self._zi = sosfilt(self._sos, samples, axis=-1, zi=self._zi)
        rows[0] = self._weights @ np.square(weighted, out=weighted)
        rows[1] = np.square(samples, out=samples).sum(axis=0) / self.channels
        if self._pending.shape[1]:
            rows = np.concatenate((self._pending, rows), axis=1)
        full = rows.shape[1] // self._sub * self._sub
        if full:
            shaped = rows[:, :full].reshape(3, -1, self._sub)
            self._sub_parts.append(np.stack((shaped[0].sum(1), shaped[1].sum(1), shaped[2].max(1))))
        self._pending = rows[:, full:]
        if self._true_peak:
            self._add_true_peak(np.concatenate((self._tp_tail, block), axis=1))

    def _add_true_peak(self, segment: np.ndarray) -> None:
        ctx = self._interp.context
        floor = self._tp_max
        if self._overs_lin is not None:
            floor = min(floor, self._overs_lin)
        peaks = chunk_peaks(segment, self._interp, TP_CHUNK, floor)
        if peaks.size:
            self._tp_max = max(self._tp_max, float(peaks.max()))
            if self._overs_lin is not None:
                for i in np.flatnonzero(peaks > self._overs_lin):
                    self._over_count += 1
                    if len(self._overs) < MAX_OVERS_LISTED:
                        t = (self._tp_pos + i * TP_CHUNK) / self.sample_rate
                        self._overs.append((max(t, 0.0), to_db(float(peaks[i]))))
        self._tp_pos += segment.shape[1] - 2 * ctx
        self._tp_tail = segment[:, -2 * ctx:] if ctx else segment[:, :0]

    def result(self) -> Measurement:
        """The measurement of everything added so far."""
        if self._true_peak and self._interp.context:
            self._add_true_peak(np.concatenate(
                (self._tp_tail, np.zeros((self.channels, self._interp.context), np.float32)), axis=1))
            self._tp_tail = self._tp_tail[:, :0]
        subs = np.concatenate(self._sub_parts, axis=1) if self._sub_parts else np.zeros((3, 0))
        k_power, plain_power, peaks = subs
        total_plain = plain_power.sum() + self._pending[1].sum()
        sample_peak = max(float(peaks.max(initial=0.0)), float(self._pending[2].max(initial=0.0)))

        momentary = window_power(k_power, MOMENTARY_SUBBLOCKS, self._sub)
        short_term = window_power(k_power, SHORT_TERM_SUBBLOCKS, self._sub)
        integrated = integrated_from_subblocks(k_power, self._sub)
        lra = None
        st_blocks = short_term[::GATING_HOP_SUBBLOCKS]
        _, kept = gated_loudness(st_blocks, LRA_RELATIVE_GATE_LU)
        if kept.size:
            low, high = np.percentile(loudness_of_power(kept), LRA_PERCENTILES)
            lra = float(high - low)
        floor_window = min(NOISE_FLOOR_SUBBLOCKS, plain_power.size)
        if floor_window:
            quiet = window_power(plain_power, floor_window, self._sub).min()
        else:
            quiet = total_plain / max(self._frames, 1)
        st_levels = loudness_of_power(st_blocks) if st_blocks.size else np.zeros(0)
        hop_s = GATING_HOP_SUBBLOCKS * self._sub / self.sample_rate
        st_times = (np.arange(st_blocks.size) * hop_s) + SHORT_TERM_SUBBLOCKS * self._sub / self.sample_rate
        return Measurement(
            sample_rate=self.sample_rate,
            channels=self.channels,
            frames=self._frames,
            integrated_lufs=integrated,
            lra_lu=lra,
            true_peak_dbtp=to_db(self._tp_max) if self._true_peak else None,
            sample_peak_dbfs=to_db(sample_peak),
            max_momentary_lufs=float(loudness_of_power(momentary.max())) if momentary.size else None,
            max_short_term_lufs=float(loudness_of_power(short_term.max())) if short_term.size else None,
            rms_db=to_db(total_plain / max(self._frames, 1), amplitude=False),
            noise_floor_db=to_db(float(quiet), amplitude=False),
            clipped_samples=self._clipped,
            short_term_lufs=st_levels,
            short_term_times_s=st_times,
            overs=list(self._overs),
            overs_threshold_dbtp=self._overs_db,
            over_count=self._over_count,
            k_power_10ms=k_power,
            plain_power_10ms=plain_power,
            peak_10ms=peaks,
            subblock_frames=self._sub,
        )


def integrated_from_subblocks(k_power: np.ndarray, sub_len: int) -> float | None:
    """Gated integrated loudness (BS.1770-5 eq. 7) from 10 ms sums of K-weighted power."""
    momentary = window_power(k_power, MOMENTARY_SUBBLOCKS, sub_len)
    return gated_loudness(momentary[::GATING_HOP_SUBBLOCKS], RELATIVE_GATE_LU)[0]


def window_power(sub_power: np.ndarray, window: int, sub_len: int) -> np.ndarray:
    """Mean power of every run of ``window`` consecutive sub-blocks (10 ms hop)."""
    if sub_power.size < window:
        return np.zeros(0)
    return sliding_window_view(sub_power, window).sum(axis=1) / (window * sub_len)


def measure(path, overs_above_dbtp: float | None = None, layout: str | None = None,
            track: str | None = None) -> Measurement:
    """Measure an audio file, streaming it block by block: a mix with its channels' BS.1770
    weights (``layout`` where the file does not say what they are); of a recorder's tracks,
    ``track`` or its mix track (``layout.selection``)."""
    info = probe(path)
    info, lay = selection(info, of_file(info, layout), track)
    meter = Meter(info.sample_rate, info.channels, overs_above_dbtp=overs_above_dbtp, weights=lay.weights)
    for block in read_blocks(info):
        meter.add(block)
    return meter.result()
