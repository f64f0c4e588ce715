"""Build data/evalset/: the real speech, noise and rooms held out of training, for `dxkit eval`.

- ``speech/``: a fixed set of clips from the shared corpus (LibriSpeech, VCTK, LJ Speech,
  LibriTTS, Thorsten), 4 s from each, 16-bit FLAC at their own rate.
- ``wideband/``: two 48 kHz VCTK clips (speech with content up to 24 kHz), for the conditions
  where a band-limited noise lies under wider speech.
- ``noise/``: the noise recordings the shared folder's TEST.txt reserves for testing (at most
  30 s of each), with ``KINDS.txt`` naming the kind of noise of each file.
- ``rooms/``: the measured room responses TEST.txt reserves, copied as they are.
- ``music/``: the music TEST.txt reserves, and the one song with singing (``SINGING``), which
  the project reserves too: the dialogue detector's test has a "singing alone" condition, and
  nothing else in the shared data sings. Byte copies.

Each folder has a ``SOURCES.txt`` with origin, licence and attribution. ``heldout.txt`` lists
every source file name the test set (and the bundled example) comes from: training leaves them
out with ``data.exclude=data/evalset/heldout.txt`` (speech, noise and rooms alike).

    python data/evalset/prepare.py /path/to/shared/data
"""

from __future__ import annotations

import re
import shutil
import sys
from pathlib import Path

import numpy as np
import soundfile as sf

HERE = Path(__file__).parent
SECONDS = 4.0
NOISE_SECONDS = 30.0
WIDEBAND = ["vctk_p255_367.flac", "vctk_p301_102.flac"]  # one male, one female speaker
# Recordings in the shared data cut from the same source recordings as reserved ones (0 A.D.'s
# edited loops: its SOURCES.txt says "amb_*_1x vs _2x share a source recording"; the river loops
# correlate too): training must leave them out as well.
RELATED = ["0ad_building_amb_trade_10.ogg", "0ad_building_amb_trade_11.ogg", "0ad_building_amb_trade_13.ogg",
           "0ad_building_amb_trade_20.ogg", "0ad_water_river_fast_21.ogg", "0ad_water_river_raging_21.ogg",
           "0ad_water_river_slow_21.ogg"]
SINGING = ["music/librosa_data_music/music_fishin.ogg"]  # relative to the shared folder
KINDS = {  # file stem (without trailing digits) -> the kind of noise, for the per-kind table
    "blanket_coffee_shop": "cafe", "ibm_typing": "typing", "ibm_car_engine": "car engine",
    "construction": "construction", "0ad_water_river_med_": "river", "0ad_weather_windgust_": "wind",
    "0ad_building_amb_trade_": "market walla", "0ad_singlesteps_fs_gravel": "footsteps",
    "stk_lenautile_restaurant": "restaurant", "tumult_machine3_fridge-hum-kitchen-2012_cut": "fridge",
    "tumult_machine9_thailand-hotel-hallway-heavy-ventilation-hum-distant-voices-man-spits-middle":
        "ventilation", "tumult_hum4_loose-connection-feedback-hum": "electrical hum",
    "tumult_static2_electrical-noise": "electrical static", "tuxpaint_vacuum_cleaner": "vacuum cleaner",
}


def picks(speech: Path) -> list[Path]:
    libri = sorted((speech / "librispeech_train_clean_100_16k").glob("*.flac"))[::16]
    vctk = sorted((speech / "vctk_p225_p228_16k").glob("p226_*.wav"))
    lj = sorted((speech / "ljspeech_22k" / "wavs").glob("*.wav"))[-4:]
    libritts = sorted((speech / "libritts_24k").glob("8463_*.wav"))
    thorsten = [speech / "thorsten_de_22k" / "sample03-gt.wav"]
    return libri + vctk[:4] + lj + libritts + thorsten


def cut(audio: np.ndarray, rate: int) -> np.ndarray:
    """The 4 s after the first sound (start of the first 10 ms frame within 40 dB of the peak)."""
    hop = rate // 100
    frames = len(audio) // hop
    power = np.mean(audio[:frames * hop].reshape(frames, hop) ** 2, axis=1)
    first = int(np.argmax(power > power.max() * 1e-4)) * hop
    start = max(0, min(first - hop * 5, len(audio) - int(SECONDS * rate)))
    return audio[start:start + int(SECONDS * rate)]


def kind_of(stem: str) -> str:
    """The kind of a reserved noise: its ``KINDS`` entry, by name with or without its number."""
    return KINDS.get(stem) or KINDS[re.sub(r"\d+$", "", stem)]


def test_list(shared: Path) -> list[str]:
    """The paths TEST.txt reserves (relative to the shared folder)."""
    lines = (shared / "TEST.txt").read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def sources_text(folder: Path, names: set[str]) -> str:
    """The header (origin, licence, attribution) of ``folder``'s SOURCES.txt and its rows for
    ``names`` (the shared folder stores noise as .ogg where its rows say .flac)."""
    lines = (folder / "SOURCES.txt").read_text(encoding="utf-8").splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("file\t"))
    stems = {Path(n).stem for n in names}
    rows = [line for line in lines[head + 1:] if Path(line.split("\t")[0]).stem in stems]
    return "\n".join(lines[:head + 1] + rows)


def copy_reserved(shared: Path) -> list[str]:
    """Copy TEST.txt's noise (cut to 30 s) and rooms into noise/ and rooms/; their names."""
    reserved = [p for p in test_list(shared) if p.startswith(("noise/", "rirs/"))]
    for kind, sub in (("noise", "noise"), ("rirs", "rooms")):
        out = HERE / sub
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir()
        chosen = [shared / p for p in reserved if p.startswith(kind + "/")]
        for p in chosen:
            info = sf.info(p)
            if kind == "noise" and info.duration > NOISE_SECONDS:
                audio, rate = sf.read(p, frames=int(NOISE_SECONDS * info.samplerate), always_2d=True)
                sf.write(out / p.name, audio, rate, format="OGG", subtype="VORBIS")
            else:
                shutil.copyfile(p, out / p.name)
        note = ("Copied by data/evalset/prepare.py from the project's shared data (reserved by its "
                "TEST.txt for testing; never trained on). Noise files longer than 30 s were cut to "
                "their first 30 s and re-encoded as Ogg Vorbis; everything else is a byte copy.\n\n")
        text = note + "\n\n".join(f"== {folder.name}\n" + sources_text(folder, {p.name for p in chosen if p.parent == folder})
                                   for folder in sorted({p.parent for p in chosen}))
        (out / "SOURCES.txt").write_text(text + "\n", encoding="utf-8")
        if kind == "noise":
            rows = [f"{p.name}\t{kind_of(p.stem)}" for p in chosen]
            (out / "KINDS.txt").write_text("# file<TAB>kind of noise\n" + "\n".join(rows) + "\n", encoding="utf-8")
    return [Path(p).name for p in reserved]


def copy_music(shared: Path) -> list[str]:
    """Copy TEST.txt's music and ``SINGING`` into music/; their names."""
    reserved = [shared / p for p in test_list(shared) if p.startswith("music/")]
    chosen = reserved + [shared / p for p in SINGING]
    out = HERE / "music"
    out.mkdir(exist_ok=True)
    for p in chosen:
        shutil.copyfile(p, out / p.name)
    note = ("Byte copies made by data/evalset/prepare.py from the project's shared data: the music its "
            f"TEST.txt reserves, and {', '.join(Path(p).name for p in SINGING)} (singing), reserved by the project for the "
            "dialogue detector's test. Never trained on.\n\n")
    (out / "SOURCES.txt").write_text(note + sources_text(chosen[0].parent, {p.name for p in chosen}) + "\n",
                                     encoding="utf-8")
    return [p.name for p in chosen]


def copy_wideband(speech: Path) -> None:
    out = HERE / "wideband"
    out.mkdir(exist_ok=True)
    folder = speech / "vctk_48k_msc_project"
    for name in WIDEBAND:
        shutil.copyfile(folder / name, out / name)
    (out / "SOURCES.txt").write_text(
        "Byte copies of two original 48 kHz VCTK recordings (data/evalset/prepare.py).\n"
        + sources_text(folder, set(WIDEBAND)) + "\n", encoding="utf-8")


def main(shared: Path) -> None:
    speech = shared / "speech"
    out = HERE / "speech"
    out.mkdir(exist_ok=True)
    chosen = picks(speech)
    example = ["LJ001-0001.wav", "LJ001-0002.wav", "p226_003.wav", "p226_005.wav"]
    vctk_all = [p.name for p in sorted((speech / "vctk_p225_p228_16k").glob("p226_*.wav"))]
    reserved = copy_reserved(shared) + copy_music(shared)
    copy_wideband(speech)
    heldout = sorted({p.name for p in chosen} | set(example) | set(vctk_all) | set(WIDEBAND) | set(reserved) | set(RELATED))
    lines = []
    for p in chosen:
        audio, rate = sf.read(p, dtype="float64", always_2d=True)
        clip = cut(audio.mean(axis=1), rate)
        name = f"{p.parent.name if p.parent.name != 'wavs' else 'ljspeech'}__{p.stem}.flac"
        sf.write(out / name, clip, rate, subtype="PCM_16")
        lines.append(f"{name}: {SECONDS:g} s of {p.relative_to(speech)} ({rate} Hz)")
    (HERE / "heldout.txt").write_text(
        "# Source files kept out of training (the test set and the bundled example): speech,\n"
        "# noise, music and rooms, by file name.\n"
        + "\n".join(heldout) + "\n", encoding="utf-8")
    (out / "SOURCES.txt").write_text(
        "Clips cut by data/evalset/prepare.py from the shared corpus; mono, 16-bit FLAC, own rate.\n"
        "Licences: LibriSpeech and LibriTTS CC BY 4.0 (Panayotov et al. 2015; Zen et al. 2019);\n"
        "VCTK CC BY 4.0 (Yamagishi, Veaux, MacDonald, University of Edinburgh,\n"
        "https://doi.org/10.7488/ds/2645); LJ Speech public domain (K. Ito 2017);\n"
        "Thorsten voice CC0 (Thorsten Müller). Cut and re-encoded by dxkit.\n\n"
        + "\n".join(lines) + "\n", encoding="utf-8")
    print(f"{len(chosen)} clips in {out}, {len(heldout)} names in heldout.txt")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
