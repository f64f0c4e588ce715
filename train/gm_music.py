"""Music played by General MIDI instruments, for the dialogue detector to learn that pianos,
saxophones, guitars, strings, brass and drum kits are not dialogue: random pieces written as MIDI
and rendered by FluidSynth with a GM sound font (Debian: ``fluidsynth fluid-soundfont-gm``; the
FluidR3 GM font is MIT-licensed). For training only: nothing here runs at run time.

    python -m dxkit.train.gm_music OUT_DIR [--minutes 60] [--seed 0]

writes ``gm_0000.flac``... (30 s each, mono, 48 kHz) to give as ``data.music_dirs``.

A piece: a tempo of 60 to 170 bpm, a key, a progression of four chords of its scale repeated,
chords (block or broken) on one instrument, a bass line on the roots, a melody walking on the scale
on another instrument most of the time, and drums more than half the time; velocities and onsets
are humanised, reverb and chorus are on or off at random.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
from pathlib import Path

import mido
import numpy as np
import soundfile as sf

RATE = 48000
TICKS = 480  # per beat
SOUND_FONT = Path("/usr/share/sounds/sf2/FluidR3_GM.sf2")
MAJOR, MINOR = (0, 2, 4, 5, 7, 9, 11), (0, 2, 3, 5, 7, 8, 10)
# GM programs (0-based) by part; choir and voice pads are left out: too close to a voice.
CHORDS = (0, 1, 2, 4, 5, 16, 17, 19, 24, 25, 26, 27, 46, 48, 49, 50, 61, 88, 89, 90, 92, 95)
BASSES = (32, 33, 34, 35, 36, 38, 39, 42, 43, 0)
MELODIES = (0, 4, 8, 11, 12, 13, 22, 24, 26, 29, 30, 40, 41, 56, 57, 60, 64, 65, 66, 68, 71, 73, 74, 80, 81)
DRUMS = 9  # the GM percussion channel
KICK, SNARE, HAT, OPEN_HAT, RIDE = 36, 38, 42, 46, 51


class Part:
    """One channel's notes as (start tick, length in ticks, key, velocity)."""

    def __init__(self, channel: int, program: int | None) -> None:
        self.channel, self.program = channel, program
        self.notes: list[tuple[int, int, int, int]] = []

    def add(self, start: float, length: float, key: int, velocity: int) -> None:
        self.notes.append((max(0, int(start)), max(1, int(length)), int(np.clip(key, 0, 127)),
                           int(np.clip(velocity, 1, 127))))

    def track(self) -> mido.MidiTrack:
        events = []
        if self.program is not None:
            events.append((0, 0, mido.Message("program_change", channel=self.channel, program=self.program)))
        for start, length, key, velocity in self.notes:
            events.append((start, 2, mido.Message("note_on", channel=self.channel, note=key, velocity=velocity)))
            events.append((start + length, 1, mido.Message("note_off", channel=self.channel, note=key)))
        track, now = mido.MidiTrack(), 0
        for at, _, message in sorted(events, key=lambda e: (e[0], e[1])):
            track.append(message.copy(time=at - now))
            now = at
        return track


def compose(rng: np.random.Generator, seconds: float) -> mido.MidiFile:
    """A random piece of about ``seconds``."""
    bpm = rng.uniform(60, 170)
    meter = 3 if rng.random() < 0.2 else 4
    scale = MAJOR if rng.random() < 0.6 else MINOR
    tonic = 48 + int(rng.integers(0, 12))
    degrees = [0] + [int(d) for d in rng.choice([1, 2, 3, 4, 5], 3)]
    bars = int(np.ceil(seconds * bpm / 60 / meter)) + 1
    bar = meter * TICKS
    jitter = lambda: rng.normal(0, 8)  # noqa: E731  humanised onsets, in ticks

    def pitch(degree: int) -> int:
        return tonic + 12 * (degree // 7) + scale[degree % 7]

    chords, bass = Part(0, int(rng.choice(CHORDS))), Part(1, int(rng.choice(BASSES)))
    broken = rng.random() < 0.4
    loud = int(rng.integers(50, 100))
    for b in range(bars):
        root = degrees[b % len(degrees)]
        keys = [pitch(root + step) + 12 for step in (0, 2, 4)]
        if broken:
            for i in range(meter * 2):
                key = keys[i % 3] + (12 if i % 6 >= 3 else 0)
                chords.add(b * bar + i * TICKS / 2 + jitter(), TICKS / 2, key, loud + rng.normal(0, 8))
        else:
            hits = [0] if rng.random() < 0.5 else list(range(meter))
            for h in hits:
                length = bar if hits == [0] else TICKS * 0.9
                for key in keys:
                    chords.add(b * bar + h * TICKS + jitter(), length, key, loud + rng.normal(0, 8))
        for h in range(0, meter, 1 if rng.random() < 0.5 else 2):
            bass.add(b * bar + h * TICKS + jitter(), TICKS * 0.9, pitch(root) - 12, loud + 10 + rng.normal(0, 6))
    parts = [chords, bass]
    if rng.random() < 0.8:
        melody = Part(2, int(rng.choice(MELODIES)))
        at, degree = 0.0, int(rng.integers(7, 12))
        while at < bars * bar:
            length = TICKS * float(rng.choice([0.25, 0.5, 0.5, 1, 1, 1.5, 2, 3]))
            if rng.random() > 0.15:
                melody.add(at + jitter(), length * 0.95, pitch(degree) + 12, loud + 15 + rng.normal(0, 10))
            degree = int(np.clip(degree + rng.choice([-2, -1, -1, 0, 1, 1, 2, 3, -3]), 3, 16))
            at += length
        parts.append(melody)
    if rng.random() < 0.6:
        drums = Part(DRUMS, None)
        cymbal = HAT if rng.random() < 0.7 else RIDE
        for b in range(bars):
            for i in range(meter * 2):
                t = b * bar + i * TICKS / 2 + jitter()
                drums.add(t, TICKS / 4, cymbal if i % 8 != 7 else OPEN_HAT, 60 + rng.normal(0, 10))
                if i == 0 or (meter == 4 and i == 4) or (i % 2 == 1 and rng.random() < 0.1):
                    drums.add(t, TICKS / 4, KICK, 100 + rng.normal(0, 8))
                if meter == 4 and i in (2, 6):
                    drums.add(t, TICKS / 4, SNARE, 90 + rng.normal(0, 10))
        parts.append(drums)
    piece = mido.MidiFile(ticks_per_beat=TICKS)
    tempo = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=int(60e6 / bpm))])
    piece.tracks.append(tempo)
    piece.tracks.extend(part.track() for part in parts)
    return piece


def render(rng: np.random.Generator, piece: mido.MidiFile, seconds: float, work: Path) -> np.ndarray:
    """``piece`` played by FluidSynth: its first ``seconds``, mono, 48 kHz, peak at -1 dBFS."""
    midi, wav = work / "piece.mid", work / "piece.wav"
    piece.save(str(midi))
    effects = ["-R", str(int(rng.random() < 0.6)), "-C", str(int(rng.random() < 0.5))]
    subprocess.run(["fluidsynth", "-ni", "-q", *effects, "-r", str(RATE), "-g", "0.5", "-F", str(wav),
                    str(SOUND_FONT), str(midi)], check=True, capture_output=True)
    audio, rate = sf.read(str(wav), dtype="float32", always_2d=True)
    if rate != RATE:
        raise RuntimeError(f"fluidsynth wrote {rate} Hz, asked for {RATE}")
    audio = audio.mean(axis=1)[:int(seconds * RATE)]
    peak = float(np.abs(audio).max(initial=0.0))
    return audio / peak * 10 ** (-1 / 20) if peak > 0 else audio


def main() -> None:
    parser = argparse.ArgumentParser(description="Render random General MIDI music for detector training.")
    parser.add_argument("out", type=Path)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--seconds", type=float, default=30.0, help="length of each piece")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if shutil.which("fluidsynth") is None or not SOUND_FONT.exists():
        raise SystemExit(f"error: needs the fluidsynth command and {SOUND_FONT} (Debian: fluidsynth fluid-soundfont-gm)")
    args.out.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(args.seed)
    count = int(np.ceil(args.minutes * 60 / args.seconds))
    with tempfile.TemporaryDirectory() as work:
        for i in range(count):
            audio = render(rng, compose(rng, args.seconds), args.seconds, Path(work))
            sf.write(str(args.out / f"gm_{i:04d}.flac"), audio, RATE, subtype="PCM_16")
            print(f"\r{i + 1}/{count} pieces", end="", flush=True)
    print(f"\nwrote {count} pieces ({count * args.seconds / 60:.0f} min) to {args.out}")


if __name__ == "__main__":
    main()
