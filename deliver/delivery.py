"""Deliver a file to a spec, closed loop: plan, render, decode what was written, measure, correct.

    input --> high-pass --> leveler + gain --> resample --> true-peak limiter --> encode
      |                                                                             |
      +-- analysis pass (meter) plans the gains        decode + measure <-----------+
                                                        (every requirement; repeat if off)

Everything streams in blocks, so memory does not grow with the file's length.
"""

from __future__ import annotations

import contextlib
import math
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

import numpy as np
import soxr

from . import __version__
from .audio import AudioInfo, atomic_path, check_output_path, probe, read_blocks, scratch_file
from .bwf import Bext, WavMetadata, coding_history, read_metadata, write_metadata
from .tags import bext_tags, write_tags
from .dialogue import dialogue_loudness, with_dialogue
from .ends import Ends, plan_ends, write_ends
from .requirements import NO_INTEGRATED, Requirement, evaluate, passed
from .encode import Encoder
from .errors import AudioInputError, OutputError
from .limiter import TruePeakLimiter, predicted_gain_db
from .layout import MIXES, Layout, layout_of, selection
from .meter import Measurement, Meter, integrated_from_subblocks
from .mixing import FLAT, GainCurve, Highpass, leveler_curve
from .spectrum import Spectrogram, SpectrumSketch
from .specs import Spec, resolve

MAX_RENDERS = 4  # renders into the output file (each one decoded and measured)
MAX_TRIALS = 4  # renders measured in memory before each lossy encode, to settle the gains
LIMITER_MAKEUP_DB = 12.0  # the most the plan adds to make up for the limiter it predicts
LOUDNESS_AIM = 0.05  # LU: render again while the integrated loudness is further off than this
LOSSY_LOUDNESS_AIM = 0.1  # LU: the same for MP3, where each try costs an encode and a decode
RMS_AIM = 0.25  # dB: the same for an RMS range (ACX's is 5 dB wide)
PEAK_MARGIN_DB = 0.15  # the limiter's first ceiling sits this far under the spec's limit
METER_MARGIN_DB = 0.1  # a render is good when its true peak is this far under the limit, so
# that true-peak meters with other interpolators (libebur128, ffmpeg) also read it under
PEAK_STEP_DB = 0.05  # extra room taken when a render's peak came out over the limit
LOSSY_PEAK_STEP_DB = 0.25  # the same for MP3, whose peak overshoot varies from encode to encode
# (it grows with the limiting: 0.38 then 0.52 dB on the bench programme as the gain rose)
# What MP3 encoding does to the level, assumed until an encode is measured: LAME's round trip
# comes out 0.265 dB quieter (measured here on sines from 100 Hz to 15 kHz, through
# libsndfile and through ffmpeg alike); codec overshoot then lifts the peaks back by a similar
# amount, so no change is assumed for the true peak.
MP3_LOUDNESS_PRIOR_DB = -0.265
MP3_PEAK_PRIOR_DB = 0.0


@dataclass
class Plan:
    """The gains a render applies."""

    highpass_hz: float  # 0: none
    leveler: GainCurve
    gain_db: float
    ceiling_dbtp: float
    layout: Layout = MIXES["stereo"]  # what the channels are: their meter weights, the LFE
    unfiltered: tuple[int, ...] = ()  # channels the high-pass leaves alone: the LFE, a mix's M&E


@dataclass
class DeliveryResult:
    """What ``deliver`` did and measured."""

    source: Path
    output: Path
    spec: Spec
    before: Measurement
    after: Measurement
    requirements: list[Requirement]
    plan: Plan
    renders: int  # files written, decoded and measured
    trials: int  # renders measured in memory only (lossy formats)
    limiter_reduction_db: float
    warnings: list[str] = field(default_factory=list)
    spectrogram_before: Spectrogram | None = None
    spectrogram_after: Spectrogram | None = None
    # Set by ``dxkit restore`` (infer/runner.py), where networks ran before delivery: ``before``
    # is then the user's take as received (at 48 kHz), ``restored`` what the networks made of it
    # (what delivery started from), ``restoration`` each network and its attenuation limit.
    restored: Measurement | None = None
    restoration: list[dict] = field(default_factory=list)
    dialogue: np.ndarray | None = field(default=None, repr=False)  # the mask delivery used, per 10 ms
    edits: list[str] = field(default_factory=list)  # what was done to the file's ends (room tone)
    head_cut_s: float = 0.0  # seconds those edits took off the head (< 0: added); ``before`` is of the file as it came

    @property
    def passed(self) -> bool:
        return passed(self.requirements)

    def to_json(self) -> dict:
        spec = self.spec
        lev = self.plan.leveler.gain_db
        return {
            "dxkit_version": __version__,
            "source": str(self.source),
            "output": str(self.output),
            "spec": {"name": spec.name, "title": spec.title, "defined_in": spec.source, "measure": spec.measure,
                     "target": spec.target, "low": spec.low, "high": spec.high,
                     "true_peak_max_dbtp": spec.true_peak_max_dbtp, "notes": spec.notes,
                     "output": {"container": spec.output.container,
                                "sample_rate": spec.output.sample_rate,
                                "bit_depth": spec.output.bit_depth,
                                "bitrate_kbps": spec.output.bitrate_kbps, "bwf": spec.output.bwf}},
            "passed": self.passed,
            "requirements": [r.to_json() for r in self.requirements],
            "before": self.before.to_json(),
            **({"restored": self.restored.to_json()} if self.restored is not None else {}),
            "after": self.after.to_json(),
            "restoration": self.restoration,
            "processing": {
                **({"networks": restoration_text(self.restoration)} if self.restoration else {}),
                "layout": self.plan.layout.name,
                "channels": list(self.plan.layout.roles),
                "highpass_hz": self.plan.highpass_hz or None,
                "leveler_range_db": [round(float(lev.min()), 2), round(float(lev.max()), 2)] if lev.size else None,
                "gain_db": round(self.plan.gain_db, 2),
                "limiter_ceiling_dbtp": round(self.plan.ceiling_dbtp, 2),
                "limiter_max_reduction_db": round(self.limiter_reduction_db, 2),
                "renders": self.renders,
                "trial_renders": self.trials,
                "edits": self.edits,
                "head_cut_s": round(self.head_cut_s, 4),
            },
            "true_peak_overs_after": {"threshold_dbtp": self.after.overs_threshold_dbtp,
                                      "count": self.after.over_count},
            "warnings": self.warnings,
        }


def restoration_text(restoration: list[dict]) -> str:
    """``[{"network": "denoise", "strength_db": 12.0}, ...]`` -> ``"denoise (at most 12 dB) -> ..."``;
    a weights file says what it is: ``"scene.safetensors (denoise adapted to take.wav, at most
    12 dB)"``."""
    def one(step: dict) -> str:
        limit = step["strength_db"]
        what = "full strength" if limit is None else f"at most {limit:g} dB"
        if "adapted_on" in step:
            takes = step["adapted_on"]
            on = ", ".join(takes[:3]) + (f" and {len(takes) - 3} more" if len(takes) > 3 else "")
            what = (f"{step.get('role', 'network')} adapted to {on}, {what}" if step["adapted"] else
                    f"{step['base']} unchanged: its check refused the adaptation to {on}, {what}")
        elif "role" in step:
            what = f"{step['role']}, {what}"
        return f"{Path(step['network']).name} ({what})"

    return " -> ".join(one(step) for step in restoration)


@dataclass(frozen=True)
class Gauge:
    """What a render's loudness is read as, and the value aimed at: the spec's measure, over
    the dialogue (a mask of the input's 10 ms sub-blocks) where the spec gates on it, or the
    full programme against the spec's fallback where there is too little dialogue."""

    spec: Spec
    dialogue: np.ndarray | None = None

    @property
    def fallback(self) -> bool:
        spec, mask = self.spec, self.dialogue
        return (spec.measure == "dialogue" and spec.fallback_below_fraction is not None
                and mask is not None and float(np.mean(mask)) < spec.fallback_below_fraction)

    @property
    def gated(self) -> bool:
        return self.spec.measure == "dialogue" and not self.fallback

    @property
    def target(self) -> float:
        spec = self.spec
        return (spec.fallback_low + spec.fallback_high) / 2 if self.fallback else spec.target

    def loudness(self, m: Measurement) -> float | None:
        if self.spec.measure == "rms":
            return m.rms_db if math.isfinite(m.rms_db) else None
        return self.of_power(m.k_power_10ms, m.subblock_frames, m.sample_rate)

    def of_power(self, k_power_10ms: np.ndarray, sub_len: int, sample_rate: int) -> float | None:
        """Integrated loudness (dialogue-gated where it applies) of the meter's 10 ms
        K-weighted sums."""
        if self.gated:
            return dialogue_loudness(k_power_10ms, sub_len, self.dialogue, sample_rate).lufs
        return integrated_from_subblocks(k_power_10ms, sub_len)


def _analyse(info: AudioInfo, highpass_hz: float, tp_limit: float, layout: Layout, unfiltered: tuple[int, ...] = ()
             ) -> tuple[Measurement, Measurement, Spectrogram]:
    """One pass over the input: its own measurement, and the high-passed one to plan from (the
    same one when there is no high-pass)."""
    raw = Meter(info.sample_rate, info.channels, overs_above_dbtp=tp_limit, weights=layout.weights)
    hp = _highpass(highpass_hz, info.sample_rate, layout.channels, unfiltered)
    filtered = Meter(info.sample_rate, info.channels, true_peak=False, weights=layout.weights) if hp else None
    sketch = SpectrumSketch(info.sample_rate, info.frames)
    for block in read_blocks(info):
        raw.add(block)
        sketch.add(block)
        if hp:
            filtered.add(hp.process(block))
    measured = raw.result()
    return measured, filtered.result() if hp else measured, sketch.result()


def _highpass(hz: float, sample_rate: int, channels: int, unfiltered: tuple[int, ...]) -> Highpass | None:
    """The dialogue high-pass, on every channel but ``unfiltered``; None at 0 Hz."""
    return Highpass(hz, sample_rate, channels, keep=unfiltered) if hz and len(unfiltered) < channels else None


def _planned_gain(m: Measurement, curve: GainCurve, gauge: Gauge, ceiling_dbtp: float,
                  aim: float) -> tuple[float, bool] | None:
    """Static gain that brings the planning measurement, after the leveler and the limiter, to
    ``aim`` (the spec's target, less what encoding is expected to change), and whether the
    limiter's part could be foreseen; None when nothing passes the loudness gates.

    Worked out on the 10 ms powers. First without the limiter, a few times over: raising the
    level lets quiet blocks pass the absolute -70 LUFS gate, which moves the relative gate.
    Then the limiter's reduction is predicted from each 10 ms block's sample peak
    (``limiter.predicted_gain_db``) and the gain raised to make up for it, by false position
    between that first gain and ``LIMITER_MAKEUP_DB`` above it; where the prediction cannot
    reach the target in that range, the first gain stands (not foreseen). Renders measure the
    rest.
    """
    rms = gauge.spec.measure == "rms"
    factors = curve.on_subblocks(m.k_power_10ms.size, m.subblock_frames, m.sample_rate)
    power = (m.plain_power_10ms if rms else m.k_power_10ms) * factors
    peak_db = 20 * np.log10(np.maximum(m.peak_10ms * np.sqrt(factors), 1e-10))
    step_s = m.subblock_frames / m.sample_rate

    def level(gain: float, limiter: bool = True) -> float | None:
        db = gain + predicted_gain_db(peak_db + gain, ceiling_dbtp, step_s) if limiter else gain
        if rms:
            total = float((power * 10 ** (db / 10)).sum())
            return 10 * math.log10(total / m.frames) if total > 0 else None
        return gauge.of_power(power * 10 ** (db / 10), m.subblock_frames, m.sample_rate)

    gain = 0.0
    for _ in range(4):
        now = level(gain, limiter=False)
        if now is None:
            return None
        gain += aim - now
    low, high = gain, gain + LIMITER_MAKEUP_DB
    at_low, at_high = level(low), level(high)
    if at_low is None or at_high is None or at_high < aim:
        return gain, False
    if at_low >= aim:  # the limiter takes nothing that matters
        return gain, True
    f_low, f_high = at_low - aim, at_high - aim
    for _ in range(12):  # false position, Illinois variant: a stalled end's value is halved
        mid = high - f_high * (high - low) / (f_high - f_low)
        at_mid = level(mid)
        if at_mid is None:
            return gain, False
        f_mid = at_mid - aim
        if abs(f_mid) < 0.005:
            break
        if f_mid < 0:
            low, f_low = mid, f_mid
            f_high /= 2
        else:
            high, f_high = mid, f_mid
            f_low /= 2
    return mid, True


def _render(info: AudioInfo, spec: Spec, plan: Plan, sink: Callable[[np.ndarray], None]) -> float:
    """Run the input through the chain, handing each output block to ``sink``; return the
    limiter's largest gain reduction in dB."""
    out_rate = spec.output.sample_rate
    channels = info.channels
    hp = _highpass(plan.highpass_hz, info.sample_rate, channels, plan.unfiltered)
    resampler = None
    if out_rate != info.sample_rate:
        resampler = soxr.ResampleStream(info.sample_rate, out_rate, channels, dtype="float32",
                                        quality=_resampling_quality(spec))
    limiter = TruePeakLimiter(plan.ceiling_dbtp, out_rate, channels)
    static = 10 ** (plan.gain_db / 20)
    position = 0
    for block in read_blocks(info):
        x = hp.process(block) if hp else block
        times = (position + np.arange(x.shape[1])) / info.sample_rate
        x = x * (plan.leveler.at(times) * static).astype(np.float32)  # float32 throughout: no copy back
        position += x.shape[1]
        if resampler:
            x = resampler.resample_chunk(np.ascontiguousarray(x.T)).T
        sink(limiter.push(x))
    if resampler:
        sink(limiter.push(resampler.resample_chunk(np.zeros((0, channels), np.float32), last=True).T))
    sink(limiter.flush())
    return limiter.max_reduction_db


def _resampling_quality(spec: Spec) -> str:
    """soxr's very high quality (28-bit precision) where the file keeps 24 bits or more, and its
    high quality (20-bit) for 16-bit PCM and MP3, as SoX's rate effect advises for 16-bit
    mastering: 1.6 times faster, and flat within 0.01 dB to 20 kHz from 48 to 44.1 kHz like
    the other (measured here)."""
    return "HQ" if spec.output.container == "mp3" or spec.output.bit_depth <= 16 else "VHQ"


def _encode(info: AudioInfo, spec: Spec, plan: Plan, path: Path, name: Path) -> tuple[Encoder, float]:
    """Render into the spec's file format at ``path``; return (the closed encoder, limiter dB)."""
    expected = round(info.frames * spec.output.sample_rate / info.sample_rate)
    encoder = Encoder(path, spec.output, info.channels, expected, name)
    try:
        reduction = _render(info, spec, plan, encoder.write)
    finally:
        encoder.close()
    return encoder, reduction


def _measure_written(path: Path, frames: int, tp_limit: float, layout: Layout) -> tuple[Measurement, Spectrogram]:
    """Decode the file just written and measure it, checking nothing went missing."""
    try:
        info = probe(path)
    except AudioInputError as exc:
        raise OutputError(f"the file written is not readable back ({exc}); is the disk full?") from None
    if info.frames != frames:  # MP3 too: its LAME tag has the decoder cut delay and padding
        raise OutputError(f"the file written holds {info.frames} of {frames} frames; is the disk full?")
    meter = Meter(info.sample_rate, info.channels, overs_above_dbtp=tp_limit, weights=layout.weights)
    sketch = SpectrumSketch(info.sample_rate, info.frames)
    for block in read_blocks(info):
        meter.add(block)
        sketch.add(block)
    return meter.result(), sketch.result()


@dataclass
class _Settled:
    """The last file rendered by ``_settle`` and how it got there."""

    after: Measurement
    spectrogram: Spectrogram
    renders: int
    trials: int
    limiter_reduction_db: float


def _settle(info: AudioInfo, gauge: Gauge, plan: Plan, path: Path, name: Path, foreseen: bool) -> _Settled:
    """Render into ``path`` and measure the decoded file, correcting ``plan`` (gain by a secant
    step, limiter ceiling by the overshoot) until loudness and true peak are on target or the
    render budget is spent. Returns the last file's measurement."""
    spec = gauge.spec
    tp_limit = spec.true_peak_max_dbtp
    aim_peak = spec.render_ceiling_dbtp - METER_MARGIN_DB
    lossy = spec.output.container == "mp3"
    # The file is written at once: the plan predicts the limiter and the codec's level shift,
    # and is usually right first time. After a miss, corrections are worked out on renders
    # measured in memory ("trials"), which cost no encode and no decode, allowing for what
    # the codec did to the level: learnt from a trial at the gains of a file that missed.
    # Then the file is written again. Where the plan could not foresee the limiter, a lossy
    # file starts with trials.
    trial = lossy and not foreseen
    shift_loud = MP3_LOUDNESS_PRIOR_DB if lossy else 0.0
    shift_peak = MP3_PEAK_PRIOR_DB if lossy else 0.0
    in_memory: tuple | None = None  # (gain dB, ceiling dBTP, loudness, true peak) of the last trial
    missed: tuple | None = None  # (loudness, true peak) of a lossy file whose codec shift is unknown
    previous: tuple[float, float] | None = None  # (gain dB, loudness) of the last render
    slope = 1.0  # dB of loudness per dB of gain; below 1 where the limiter works hard
    renders = trials = round_trials = 0
    aim = RMS_AIM if spec.measure == "rms" else LOSSY_LOUDNESS_AIM if lossy else LOUDNESS_AIM
    while True:
        if trial:
            trials += 1
            round_trials += 1
            meter = Meter(spec.output.sample_rate, info.channels, overs_above_dbtp=tp_limit, weights=plan.layout.weights)
            reduction = _render(info, spec, plan, meter.add)
            after = meter.result()
            in_memory = (plan.gain_db, plan.ceiling_dbtp, gauge.loudness(after), after.true_peak_dbtp)
            if missed is not None:
                shift_loud, shift_peak, previous = *_codec_shift(missed, in_memory[2:], shift_loud, shift_peak), None
                missed = None
            loud = None if in_memory[2] is None else in_memory[2] + shift_loud
            peak = None if in_memory[3] is None else in_memory[3] + shift_peak
        else:
            renders += 1
            encoder, reduction = _encode(info, spec, plan, path, name)
            after, spectrogram = _measure_written(path, encoder.frames, tp_limit, plan.layout)
            loud, peak = gauge.loudness(after), after.true_peak_dbtp
            if lossy and in_memory is not None and in_memory[:2] == (plan.gain_db, plan.ceiling_dbtp):
                shift_loud, shift_peak, previous = *_codec_shift((loud, peak), in_memory[2:], shift_loud, shift_peak), None
        error = 0.0 if loud is None else gauge.target - loud
        peak_over = (-math.inf if peak is None else peak) - aim_peak
        good = abs(error) <= aim and peak_over <= 0
        if trial and (good or round_trials >= MAX_TRIALS or loud is None):
            trial = False  # gains settled: write the file, then verify what was written
            round_trials = 0
            continue
        if not trial and (good or renders >= MAX_RENDERS or loud is None):
            return _Settled(after, spectrogram, renders, trials, reduction)
        trial = True  # a file missed: correct on cheap in-memory renders before the next one
        if lossy and (in_memory is None or in_memory[:2] != (plan.gain_db, plan.ceiling_dbtp)):
            missed = (loud, peak)  # first a trial at the same gains, to learn the codec's shift
            continue
        # Secant step, from two readings taken with the same ceiling and encoding shift.
        if previous is not None and abs(plan.gain_db - previous[0]) > 1e-3:
            slope = float(np.clip((loud - previous[1]) / (plan.gain_db - previous[0]), 0.05, 1.5))
        previous = (plan.gain_db, loud)
        plan.gain_db += error / slope
        if peak_over > 0:
            plan.ceiling_dbtp -= peak_over + (LOSSY_PEAK_STEP_DB if lossy else PEAK_STEP_DB)
            previous = None


def _codec_shift(written: tuple, rendered: tuple, loud: float, peak: float) -> tuple[float, float]:
    """What writing the file changed in (loudness, true peak): the file's reading less the
    in-memory render's at the same gains; the codec's peak overshoot varies from encode to
    encode, so the largest seen is kept. Unchanged where either reading is missing."""
    if None in (*written, *rendered):
        return loud, peak
    return written[0] - rendered[0], max(peak, written[1] - rendered[1])


def check_paths(source: Path, output: Path, spec: Spec) -> AudioInfo:
    """The input's ``AudioInfo``, once the input reads and the output can be written under a
    name that fits the spec; raises AudioInputError or OutputError. Cheap: a caller that does
    long work before ``deliver`` (finding the dialogue) asks first."""
    info = probe(source)
    check_output_path(source, output)
    if output.suffix.lower() != spec.output.suffix:
        raise OutputError(f"{output}: spec {spec.name} writes {spec.output.container.upper()}; "
                          f"name the output *{spec.output.suffix}")
    return info


def deliver(source: str | os.PathLike, output: str | os.PathLike, spec: Spec | str,
            highpass_hz: float | None = None, leveler: bool | None = None,
            dialogue: np.ndarray | None = None, layout: str | None = None,
            track: str | None = None, metadata: WavMetadata | None = None,
            highpass_channels: tuple[int, ...] | None = None, fit_ends: bool = True) -> DeliveryResult:
    """Deliver ``source`` to ``spec`` as ``output``; measured on the decoded file written.

    ``dialogue`` is the input's dialogue mask (one value per 10 ms, ``dxkit.detect``): a
    dialogue-gated spec needs it (and raises without it), a spec with ``room_tone`` judges
    the room tone with it (and fails that requirement without it), and the leveler rides it.
    Where the spec judges room tone, an end out of range is cut or lengthened with the file's own
    room tone (``ends.py``; ``result.edits`` says what was done), unless ``fit_ends`` is False.
    ``highpass_hz``: the dialogue high-pass (default: the spec's; the presets have none), on
    ``highpass_channels`` (default: all), never on the LFE. ``layout`` says what the channels are where the file's channel mask or count
    does not (``layout.NAMES``). A recorder's tracks are delivered one at a time: ``track``
    names one (or a pair, as stereo) by name or number; without it, the recorder's mix track.

    A WAV input's ``bext`` (its time reference rescaled to the output rate, a coding history
    line added) and ``iXML`` go into a WAV output, and a channel mask for 3 channels or more;
    ``metadata`` stands for the input's (restore passes the take's on with its restored audio).

    The output file is written even when a requirement cannot be met (for example ACX's noise
    floor on a noisy recording); ``result.passed`` and ``result.requirements`` say which failed.
    Raises AudioInputError for input that cannot be delivered at all, OutputError when the file
    cannot be written. The input is only read.
    """
    spec = resolve(spec)
    source, output = Path(source), Path(output)
    info = check_paths(source, output, spec)
    metadata = read_metadata(source) if metadata is None else metadata
    found = layout_of(info.channels, metadata.channel_mask, metadata.ixml, layout, str(source))
    info, lay = selection(info, found, track)
    if spec.output.container == "mp3" and info.channels > 2:
        raise AudioInputError(f"{source}: {info.channels} channels cannot go into MP3 "
                              f"(spec {spec.name}); downmix to stereo first")
    hp_hz = highpass_hz if highpass_hz is not None else spec.highpass_hz or 0.0
    if hp_hz and not 0 < hp_hz < min(info.sample_rate, spec.output.sample_rate) / 2:
        raise AudioInputError(f"high-pass at {hp_hz} Hz does not fit a {info.sample_rate} Hz file")
    if spec.measure == "dialogue" and dialogue is None:
        raise AudioInputError(f"spec {spec.name} measures loudness on the dialogue: find it first "
                              "(dxkit.deliver(..., dialogue=dxkit.detect(source).active); the CLI does this)")
    use_leveler = spec.leveler if leveler is None else leveler

    unfiltered = tuple(c for c in range(info.channels) if c == lay.lfe or
                       (highpass_channels is not None and c not in highpass_channels))
    before, planning, spectrum_before = _analyse(info, hp_hz, spec.true_peak_max_dbtp, lay, unfiltered)
    if dialogue is not None:
        dialogue = np.asarray(dialogue, bool)
        before = with_dialogue(before, dialogue)
    if before.integrated_lufs is None:
        raise AudioInputError(f"{source}: {NO_INTEGRATED}; there is nothing to normalise")
    ends = plan_ends(before, dialogue) if spec.room_tone and fit_ends and dialogue is not None else Ends()
    # only a file whose ends change is copied (to scratch beside the output) and planned again
    with scratch_file(output.parent, output.name) if ends.changed else contextlib.nullcontext() as edited:
        if edited is not None:  # deliver the file with its ends fitted, and plan on it
            write_ends(info, ends, edited)
            dialogue = ends.shifted_mask(dialogue, info.frames, info.sample_rate)
            metadata = metadata.moved(ends.head, info.sample_rate)
            info = probe(edited)
            _, planning, _ = _analyse(info, hp_hz, spec.true_peak_max_dbtp, lay, unfiltered)
        return _deliver_planned(info, source, output, spec, before, planning, spectrum_before, dialogue, metadata,
                                lay, lay is not found, unfiltered, hp_hz, use_leveler, ends)


def _deliver_planned(info: AudioInfo, source: Path, output: Path, spec: Spec, before: Measurement,
                     planning: Measurement, spectrum_before: Spectrogram, dialogue: np.ndarray | None,
                     metadata: WavMetadata, lay: Layout, picked: bool, unfiltered: tuple[int, ...], hp_hz: float,
                     use_leveler: bool, ends: Ends) -> DeliveryResult:
    """``deliver`` once the file to render (``info``: the input, or its ends fitted) is known."""
    gauge = Gauge(spec, dialogue)
    ceiling_limit = spec.render_ceiling_dbtp
    warnings = list(ends.warnings)
    if before.clipped_samples:
        warnings.append(f"input has {before.clipped_samples} samples at full scale (clipped); "
                        "delivery cannot restore them")
    curve = leveler_curve(planning.k_power_10ms, planning.subblock_frames, info.sample_rate, dialogue=dialogue) \
        if use_leveler else FLAT
    codec_shift = MP3_LOUDNESS_PRIOR_DB if spec.output.container == "mp3" else 0.0
    planned = _planned_gain(planning, curve, gauge, ceiling_limit - PEAK_MARGIN_DB, gauge.target - codec_shift)
    if planned is None and gauge.gated:
        raise AudioInputError(f"{source}: no dialogue to gate on ({100 * before.dialogue_fraction:.0f} % of the "
                              f"file is dialogue, none of it in a stretch of 400 ms)")
    if planned is None:
        raise AudioInputError(f"{source}: {NO_INTEGRATED}; there is nothing to normalise")
    gain, foreseen = planned
    plan = Plan(hp_hz, curve, gain, ceiling_limit - PEAK_MARGIN_DB, lay, unfiltered)
    if plan.gain_db > 20:
        warnings.append(f"gain of {plan.gain_db:+.1f} dB raises the noise floor by as much; "
                        "denoise first (dxkit restore)")

    with atomic_path(output) as final, scratch_file(output.parent, output.name) as render_path:
        done = _settle(info, gauge, plan, render_path, output, foreseen)
        after = done.after if dialogue is None else with_dialogue(done.after, dialogue)
        requirements = evaluate(after, spec, spec.output.container)
        carried = _carried(metadata, spec, info, lay, picked, after, warnings)
        try:
            if isinstance(carried, WavMetadata):
                write_metadata(render_path, final, carried)
            elif carried:
                write_tags(render_path, final, spec.output.container, carried)
            else:
                os.replace(render_path, final)
        except OSError as exc:
            raise OutputError(f"{output}: write failed ({exc.strerror or exc})") from None

    return DeliveryResult(source, output, spec, before, after, requirements, plan, done.renders,
                          done.trials, done.limiter_reduction_db, warnings, spectrum_before,
                          done.spectrogram, dialogue=dialogue, edits=ends.done,
                          head_cut_s=ends.head / info.sample_rate)  # the edited file keeps the input's rate


def _carried(metadata: WavMetadata, spec: Spec, info: AudioInfo, layout: Layout, picked: bool,
             after: Measurement, warnings: list[str]) -> WavMetadata | dict[str, str] | None:
    """What goes into the output beyond its samples. WAV: the input's ``bext`` (or a new one for
    a BWF spec) with the delivered loudness; its iXML, unless a track was picked out (it lists
    the recorder's tracks); for 3 channels or more the layout's channel mask (0, "no speakers",
    for film order and tracks). FLAC and MP3, which hold no chunks: the ``bext``'s time reference
    and description as tags (``tags.py``), with a warning. None where there is nothing to add."""
    history = coding_history(spec.output.sample_rate, spec.output.bit_depth, info.channels,
                             f"dxkit {__version__} delivery to {spec.name}")
    carried = metadata.carried(info.sample_rate, spec.output.sample_rate, history, spec.output.bit_depth)
    if spec.output.container != "wav":
        if metadata.bext or metadata.ixml:
            kept = "its time reference and description are in the file's tags (TIME_REFERENCE, DESCRIPTION), " \
                "the rest is not" if metadata.bext else "none of it is in the delivered file"
            warnings.append(f"{spec.output.container.upper()} cannot hold the input's bext/iXML chunks: {kept}")
        return bext_tags(carried.bext) if carried.bext else None
    bext = carried.bext
    if bext is None and spec.output.bwf:
        bext = Bext.new(f"dxkit delivery to {spec.name}", "dxkit").carried(1, 1, history)
    if bext is not None:
        bext = replace(bext, loudness={"loudness_value": after.integrated_lufs, "loudness_range": after.lra_lu,
                                       "max_true_peak_level": after.true_peak_dbtp,
                                       "max_momentary_loudness": after.max_momentary_lufs,
                                       "max_short_term_loudness": after.max_short_term_lufs})
    ixml = carried.ixml
    if picked and ixml is not None:
        ixml = None
        warnings.append("the input's iXML lists the recorder's tracks: not carried into a file of one of them")
    mask = layout.mask if layout.channels >= 3 else None
    if bext is None and ixml is None and mask is None:
        return None
    return WavMetadata(bext, ixml, mask)
