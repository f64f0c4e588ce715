"""The dialogue detector's test: programmes built from held-out material (``data/evalset``), frame
F1 against the dialogue stem's own activity, false alarms where there is no dialogue, and
silero-vad side by side (``make bench-dialogue``).

Dialogue: the held-out speech clips one after another, each at its own level (active speech at
-23 dBFS +/- 4 dB), with pauses of 0.5 to 2.5 s; its activity is ``speech_activity`` of each
clip (the rule the detector was trained on: frames within 40 dB of the clip's loudest, gaps
under 0.2 s filled). Conditions, all at 48 kHz:

- clean: the dialogue over white noise at -80 dBFS (no digital silence between lines);
- noise at 20, 10 and 0 dB: the dialogue over the held-out ambiences and machines (cafe,
  restaurant, market walla, river, wind, car engine, fridge, ventilation, hum, static, vacuum
  cleaner, construction), one after another, at that active-speech-to-noise ratio;
- music under: the held-out jazz under the dialogue, 6 dB below it;
- music alone (the jazz and the instrumental opening of the held-out song), singing alone
  (the song from its voice on), effects alone (footsteps on gravel, typing): no dialogue at
  all, scored by the share of frames called dialogue.

Both detectors go through the same decision (``infer.detect.decide``: threshold 0.5, gaps under
0.2 s filled, runs under 0.1 s dropped); silero-vad's probabilities (one per 32 ms at 16 kHz)
are spread over the 10 ms frames they cover.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile as sf
import soxr

from dxkit.infer.detect import decide
from dxkit.train.activity import speech_activity
from dxkit.train.levels import FRAME, active_rms

RATE = 48000
AMBIENCES = ("blanket_coffee_shop", "stk_lenautile_restaurant", "0ad_building_amb_trade_12", "0ad_water_river_med_21",
             "0ad_weather_windgust_11", "ibm_car_engine", "tumult_machine3", "tumult_machine9", "tumult_hum4",
             "tumult_static2", "tuxpaint_vacuum_cleaner", "construction")
EFFECTS = ("0ad_singlesteps_fs_gravel", "ibm_typing")
SONG_VOICE_S = 10.0  # the held-out song's voice comes in about here (its SOURCES.txt)


def read(path: Path) -> np.ndarray:
    audio, rate = sf.read(str(path), dtype="float32", always_2d=True)
    audio = audio.mean(axis=1)
    return soxr.resample(audio, rate, RATE, quality="HQ").astype(np.float32) if rate != RATE else audio


def unit(x: np.ndarray) -> np.ndarray:
    return x / max(float(np.sqrt(np.mean(x.astype(np.float64) ** 2))), 1e-12)


def loop(x: np.ndarray, n: int) -> np.ndarray:
    return np.resize(x, n)


def dialogue(files: list[Path], seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """The speech ``files`` one after another with pauses, and their activity per 10 ms frame."""
    rng = np.random.default_rng(seed)
    parts, labels = [], []
    for path in files:
        clip = read(path)
        clip = clip / active_rms(clip) * 10 ** ((-23 + rng.uniform(-4, 4)) / 20)
        pause = np.zeros(int(rng.uniform(0.5, 2.5) * RATE) // FRAME * FRAME, np.float32)
        clip = clip[:len(clip) // FRAME * FRAME]
        parts += [pause, clip]
        labels += [np.zeros(len(pause) // FRAME, bool), speech_activity(clip)]
    tail = np.zeros(RATE, np.float32)
    return np.concatenate(parts + [tail]), np.concatenate(labels + [np.zeros(len(tail) // FRAME, bool)])


def held_out_speech(evalset: Path) -> list[Path]:
    return sorted((evalset / "speech").glob("*.flac"))


def beds(evalset: Path, names: tuple[str, ...]) -> list[np.ndarray]:
    files = sorted(p for p in (evalset / "noise").glob("*.ogg") if p.stem.startswith(names))
    return [unit(read(p)) for p in files]


def chain(pieces: list[np.ndarray], n: int) -> np.ndarray:
    """``pieces`` one after another, looped, to ``n`` samples."""
    return loop(np.concatenate(pieces), n)


@dataclass(frozen=True)
class Condition:
    name: str
    audio: np.ndarray
    labels: np.ndarray  # all False where there is no dialogue


def programmes(speech_files: list[Path], ambiences: list[np.ndarray], music: np.ndarray,
               alone: list[tuple[str, np.ndarray]]) -> list[Condition]:
    """The speech clean, over the ``ambiences`` at 20/10/0 dB and over ``music`` 6 dB under it,
    then each of ``alone`` (no dialogue) at -23 dBFS RMS."""
    speech, labels = dialogue(speech_files)
    n = len(speech)
    level = active_rms(speech)
    floor = np.random.default_rng(1).standard_normal(n).astype(np.float32) * 10 ** (-80 / 20)
    ambience = chain(ambiences, n)
    out = [Condition("clean", speech + floor, labels)]
    for snr in (20, 10, 0):
        out.append(Condition(f"noise {snr} dB", speech + ambience * level * 10 ** (-snr / 20), labels))
    out.append(Condition("music under (-6 dB)", speech + loop(unit(music), n) * level * 10 ** (-6 / 20), labels))
    for name, x in alone:
        x = (unit(x) * 10 ** (-23 / 20)).astype(np.float32)
        out.append(Condition(name, x, np.zeros(len(x) // FRAME, bool)))
    return out


def conditions(evalset: Path) -> list[Condition]:
    """The test programmes: the held-out speech, ambiences, jazz, song and effects."""
    jazz = unit(read(evalset / "music" / "music_vibeace.ogg"))
    song = read(evalset / "music" / "music_fishin.ogg")
    cut = int(SONG_VOICE_S * RATE)
    alone = [("music alone", np.concatenate((jazz, unit(song[:cut])))), ("singing alone", song[cut:]),
             ("effects alone", chain(beds(evalset, EFFECTS), 30 * RATE))]
    return programmes(held_out_speech(evalset), beds(evalset, AMBIENCES), jazz, alone)


def silero() -> Callable[[np.ndarray], np.ndarray]:
    """silero-vad (its ONNX model, one thread) as a function: 48 kHz audio -> a probability per 10 ms."""
    import torch
    from silero_vad import load_silero_vad

    torch.set_num_threads(1)
    model = load_silero_vad(onnx=True)

    def run(audio: np.ndarray) -> np.ndarray:
        x = soxr.resample(audio, RATE, 16000, quality="HQ").astype(np.float32)
        model.reset_states()
        chunk = 512
        x = np.pad(x, (0, -len(x) % chunk))
        with torch.inference_mode():
            probs = model.audio_forward(torch.from_numpy(x), 16000)[0].numpy()
        frames = len(audio) // FRAME
        at = np.minimum((np.arange(frames) * 160) // chunk, len(probs) - 1)
        return probs[at].astype(np.float32)

    return run


def ours(network: str | None = None) -> Callable[[np.ndarray], np.ndarray]:
    """dxkit's detector (both networks, ``infer/detect.py``), or ``network`` alone, or networks
    joined by ``+`` together as the shipped detector joins its two (the lower probability), as a
    function: 48 kHz audio -> a probability per 10 ms (one thread). A file whose name holds a
    ``+`` is one network."""
    import torch

    from dxkit import models
    from dxkit.infer.detect import detect_array

    torch.set_num_threads(1)
    if not network:
        nets = [None]
    else:
        names = [network] if Path(network).exists() else network.split("+")
        nets = [models.load(name) for name in names]
    return lambda audio: np.minimum.reduce([detect_array(audio, RATE, net).probability for net in nets])


@dataclass(frozen=True)
class Score:
    precision: float | None
    recall: float | None
    f1: float | None
    false_alarm: float  # share of the frames without dialogue called dialogue
    seconds: float  # time taken


def score(labels: np.ndarray, active: np.ndarray, seconds: float) -> Score:
    n = min(labels.size, active.size)
    labels, active = labels[:n], active[:n]
    hits = int((labels & active).sum())
    false_alarm = float(active[~labels].mean()) if (~labels).any() else 0.0
    if not labels.any():
        return Score(None, None, None, false_alarm, seconds)
    precision = hits / max(int(active.sum()), 1)
    recall = hits / int(labels.sum())
    f1 = 2 * precision * recall / max(precision + recall, 1e-12)
    return Score(precision, recall, f1, false_alarm, seconds)


def run(detector: Callable[[np.ndarray], np.ndarray], cases: list[Condition]) -> dict[str, Score]:
    out = {}
    for case in cases:
        start = time.perf_counter()
        probability = detector(case.audio)
        seconds = time.perf_counter() - start
        out[case.name] = score(case.labels, decide(probability), seconds)
    return out


def mixes(evalset: Path, beds_db: tuple[float, ...] = (-20.0, -10.0, 0.0, 10.0)):
    """Mixes of the held-out dialogue with music and effects stems at ``beds_db`` relative to it
    (active speech RMS over the stem's RMS), in stereo (dialogue in both channels) and 5.1
    (dialogue in the centre, the stems in the other four full-range channels): yields
    ``(layout, bed dB, mix [C, T] at 48 kHz, the dialogue's activity per 10 ms)``."""
    speech, labels = dialogue(held_out_speech(evalset))
    n = len(speech)
    level = active_rms(speech)
    song = read(evalset / "music" / "music_fishin.ogg")[:int(SONG_VOICE_S * RATE)]
    stems = unit(chain([unit(read(evalset / "music" / "music_vibeace.ogg")), unit(song)]
                       + beds(evalset, EFFECTS), n))
    for db in beds_db:
        bed = stems * level * 10 ** (db / 20)
        yield "stereo", db, np.stack([speech + bed, speech + bed]).astype(np.float32), labels
        yield "5.1", db, np.stack([bed, bed, speech, np.zeros(n, np.float32), bed, bed]).astype(np.float32), labels


def gated_errors(evalset: Path, detector: Callable[[np.ndarray, int], np.ndarray]) -> list[tuple[str, float, float | None, float | None]]:
    """Dialogue-gated loudness of each of ``mixes``: ``(layout, bed dB, reference LUFS, measured
    LUFS)``. The reference gates on the dialogue stem's own activity; the measured one on
    ``detector(mix [C, T], rate)``, a mask of 10 ms frames."""
    from dxkit.deliver.dialogue import dialogue_loudness
    from dxkit.deliver.meter import Meter

    out = []
    for layout, db, mix, labels in mixes(evalset):
        meter = Meter(RATE, mix.shape[0])
        meter.add(mix)
        m = meter.result()
        reference = dialogue_loudness(m.k_power_10ms, m.subblock_frames, labels, RATE).lufs
        measured = dialogue_loudness(m.k_power_10ms, m.subblock_frames, detector(mix, RATE), RATE).lufs
        out.append((layout, db, reference, measured))
    return out


def synthetic_conditions(evalset: Path, seed: int = 7) -> list[Condition]:
    """The same held-out speech over the training generators' noise (``noise.noise``) and music
    (``music.synthetic``), new draws: the detector's synthetic rows, beside the real ones."""
    from . import music
    from .noise import noise

    rng = np.random.default_rng(seed)
    n = len(dialogue(held_out_speech(evalset))[0])
    beds = [unit(noise(rng, 10 * RATE)) for _ in range(n // (10 * RATE) + 1)]
    cases = programmes(held_out_speech(evalset), beds, music.synthetic(rng, 30 * RATE),
                       [("music alone", music.synthetic(rng, 30 * RATE)), ("noise alone", chain(beds, 30 * RATE))])
    return [replace(c, name=f"synthetic {c.name}") for c in cases]


def eval_report(evalset: Path, network: str | None = None, sources: tuple[str, ...] = ("real", "synthetic"),
                baselines: bool = True) -> list[dict]:
    """``dxkit eval --tasks dialogue``: per condition and detector (ours, and silero-vad unless
    ``baselines`` is off), F1, precision, recall and false alarms, and the real-time factor. Ours
    is the shipped detector, or ``network`` alone."""
    cases = (conditions(evalset) if "real" in sources else []) + \
        (synthetic_conditions(evalset) if "synthetic" in sources else [])
    detectors = {"dxkit" if network is None else f"dxkit ({network})": ours(network)}
    if baselines:
        detectors["silero-vad"] = silero()
    scores = {name: run(detector, cases) for name, detector in detectors.items()}
    return [{"task": "dialogue", "condition": case.name, "source": "synthetic" if case.name.startswith("synthetic")
             else "real", "seconds": len(case.audio) / RATE,
             "systems": {name: {**asdict(s[case.name]), "rtf": s[case.name].seconds / (len(case.audio) / RATE)}
                         for name, s in scores.items()}} for case in cases]


def eval_markdown(rows: list[dict]) -> str:
    names = list(rows[0]["systems"]) if rows else []
    out = ["### dialogue (frame F1 against the dialogue's own activity; false alarms: share of frames without "
           "dialogue called dialogue)", "", "| condition | " + " | ".join(f"{n} F1 | false alarms" for n in names) + " |",
           "|---|" + "---|---|" * len(names)]
    for row in rows:
        cells = []
        for name in names:
            s = row["systems"][name]
            cells += ["-" if s["f1"] is None else f"{s['f1']:.3f}", f"{100 * s['false_alarm']:.1f} %"]
        out.append(f"| {row['condition']} ({row['seconds']:.0f} s) | " + " | ".join(cells) + " |")
    return "\n".join(out) + "\n"
