"""What each channel of a file is: a mix (mono, stereo, 3.0, 5.0, 5.1, 7.1, in WAV or film
order) or a production recorder's tracks (each a microphone), with BS.1770 weights and the
WAVE_FORMAT_EXTENSIBLE channel mask that says so.

A file's layout comes from ``--layout`` when given; else a file of 3 or more channels whose iXML
lists its tracks (by names that are not speakers) is a recorder's tracks, whatever channel mask
a tool added on the way; else its channel mask says, else its channel count. A count no mix has
(4, 7, 9 and more) is tracks.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from dataclasses import dataclass

from .audio import AudioInfo
from .bwf import read_metadata
from .errors import AudioInputError

# dwChannelMask bits (Microsoft, WAVE_FORMAT_EXTENSIBLE; the order of the bits is the order of
# the channels in the file)
FL, FR, FC, LFE, BL, BR, SL, SR = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x200, 0x400
MIX_TRACK = re.compile(r"(?i)^\s*(lr\s*)?mix")  # a recorder's mix track: "Mix", "MixL", "Mix R", "LR Mix"
SURROUND = 1.41  # BS.1770-5 Table 3: channels at |azimuth| 60-120 deg (+1.5 dB); LFE 0; others 1


@dataclass(frozen=True)
class Layout:
    """The roles of a file's channels, in file order: L R C LFE Ls Rs (side or 5.x surround),
    Lb Rb (7.1 back), M (mono); or, for tracks, their names."""

    name: str
    roles: tuple[str, ...]
    mask: int = 0  # the WAV channel mask for this order; 0 where none can say it
    tracks: bool = False  # a recorder's tracks, not a mix

    @property
    def channels(self) -> int:
        return len(self.roles)

    @property
    def weights(self) -> tuple[float, ...]:
        """BS.1770-5 weights (a track counts 1)."""
        if self.tracks:
            return (1.0,) * self.channels
        return tuple(0.0 if r == "LFE" else SURROUND if r in ("Ls", "Rs") else 1.0 for r in self.roles)

    @property
    def lfe(self) -> int | None:
        return self.roles.index("LFE") if "LFE" in self.roles and not self.tracks else None

    @property
    def dialogue(self) -> tuple[int, ...]:
        """The channels that hold dialogue by default: the centre of a mix that has one, every
        channel otherwise (mono, stereo, tracks)."""
        if not self.tracks and "C" in self.roles:
            return (self.roles.index("C"),)
        return tuple(range(self.channels))

    def pick(self, spec: str, where: object = "") -> tuple[int, ...]:
        """Channels chosen by role or track name, or 1-based number, comma-separated
        (``C``, ``L,R``, ``2``, ``Boom``); raises AudioInputError (about the file ``where``) for
        one that is not here."""
        prefix = f"{where}: " if str(where) else ""
        chosen = []
        for item in (s.strip() for s in spec.split(",") if s.strip()):
            if item.isdigit() and 1 <= int(item) <= self.channels:
                chosen.append(int(item) - 1)
            elif item in self.roles:
                chosen.append(self.roles.index(item))
            else:
                raise AudioInputError(f"{prefix}channel {item!r} is not in this {self.name} file "
                                      f"(its channels: {', '.join(self.roles)}, or 1-{self.channels})")
        if not chosen:
            raise AudioInputError(f"{prefix}no channel chosen")
        return tuple(sorted(set(chosen)))


MIXES = {
    "mono": Layout("mono", ("M",)),
    "stereo": Layout("stereo", ("L", "R"), FL | FR),
    "3.0": Layout("3.0", ("L", "R", "C"), FL | FR | FC),
    "5.0": Layout("5.0", ("L", "R", "C", "Ls", "Rs"), FL | FR | FC | SL | SR),
    "5.1": Layout("5.1", ("L", "R", "C", "LFE", "Ls", "Rs"), FL | FR | FC | LFE | BL | BR),
    "7.1": Layout("7.1", ("L", "R", "C", "LFE", "Lb", "Rb", "Ls", "Rs"), FL | FR | FC | LFE | BL | BR | SL | SR),
    # film (SMPTE/Pro Tools) order: no channel mask can say it
    "5.1-film": Layout("5.1-film", ("L", "C", "R", "Ls", "Rs", "LFE")),
    "7.1-film": Layout("7.1-film", ("L", "C", "R", "Ls", "Rs", "Lb", "Rb", "LFE")),
}
BY_COUNT = {1: "mono", 2: "stereo", 3: "3.0", 5: "5.0", 6: "5.1", 8: "7.1"}
# masks that name a known mix: both ways of writing 5.0 and 5.1 surrounds (back or side bits)
BY_MASK = {FC: "mono", FL | FR: "stereo", FL | FR | FC: "3.0", FL | FR | FC | SL | SR: "5.0",
           FL | FR | FC | BL | BR: "5.0", FL | FR | FC | LFE | BL | BR: "5.1", FL | FR | FC | LFE | SL | SR: "5.1",
           FL | FR | FC | LFE | BL | BR | SL | SR: "7.1"}
NAMES = (*MIXES, "tracks")
# track names that are speakers, not microphones: a mix that lists its channels in iXML
SPEAKER_NAMES = {"L", "R", "C", "LFE", "LS", "RS", "LB", "RB", "LSS", "RSS", "LSR", "RSR", "LEFT", "RIGHT",
                 "CENTER", "CENTRE"}


def tracks(names: list[str]) -> Layout:
    return Layout(f"{len(names)}-track", tuple(names), tracks=True)


def track_names(ixml: bytes | None, channels: int) -> list[str] | None:
    """The track names of an iXML TRACK_LIST in channel order (by CHANNEL_INDEX, 1-based; "1",
    "2"... where a name is missing); None without a track list."""
    if not ixml:
        return None
    try:
        listing = ElementTree.fromstring(ixml).find("TRACK_LIST")
    except ElementTree.ParseError:
        return None
    if listing is None:
        return None
    names = [str(i + 1) for i in range(channels)]
    for order, track in enumerate(listing.findall("TRACK")):
        # INTERLEAVE_INDEX is the channel's place in the file; CHANNEL_INDEX the recorder's
        # track number, the same unless tracks were disarmed (iXML 2.x); else the list's order
        index = (track.findtext("INTERLEAVE_INDEX") or track.findtext("CHANNEL_INDEX") or str(order + 1)).strip()
        name = track.findtext("NAME", "").strip()
        if index.isdigit() and 1 <= int(index) <= channels and name:
            names[int(index) - 1] = name
    return names


def layout_of(channels: int, mask: int | None = None, ixml: bytes | None = None, given: str | None = None,
              where: str = "") -> Layout:
    """The layout of a file with ``channels``, its channel mask (None: not extensible) and
    iXML, or ``given`` (a name of ``NAMES``); raises AudioInputError where they disagree."""
    prefix = f"{where}: " if where else ""
    names = track_names(ixml, channels)
    named = [n for i, n in enumerate(names or []) if n != str(i + 1)]
    if named and channels >= 3 and given is None and not all(n.upper() in SPEAKER_NAMES for n in named):
        return tracks(names)  # a recorder's track list outranks a mask some tool added on the way
    if given is not None:
        if given == "tracks":
            return tracks(names or [str(i + 1) for i in range(channels)])
        if given not in MIXES:
            raise AudioInputError(f"{prefix}unknown layout {given!r} (known: {', '.join(NAMES)})")
        if MIXES[given].channels != channels:
            raise AudioInputError(f"{prefix}layout {given} has {MIXES[given].channels} channels; the file has {channels}")
        return MIXES[given]
    if mask and channels <= 2 and bin(mask).count("1") == channels and mask not in BY_MASK:
        mask = None  # mono on another speaker, a front-centre pair...: mono and stereo by their count
    if mask:  # 0: the file names no speakers
        if bin(mask).count("1") != channels:
            raise AudioInputError(f"{prefix}its channel mask 0x{mask:X} names {bin(mask).count('1')} speakers but the "
                                  f"file has {channels} channels; say what it is with --layout ({', '.join(NAMES)})")
        if mask not in BY_MASK:  # quad, 6.1, 7.1.4...
            raise AudioInputError(f"{prefix}its channel mask 0x{mask:X} is not a layout dxkit knows; "
                                  f"say what it is with --layout ({', '.join(NAMES)})")
        return MIXES[BY_MASK[mask]]
    if channels in BY_COUNT:
        return MIXES[BY_COUNT[channels]]
    return tracks(names or [str(i + 1) for i in range(channels)])


def of_file(info: AudioInfo, given: str | None = None) -> Layout:
    """The layout of the file ``info`` describes (its channel mask and iXML, or ``given``)."""
    metadata = read_metadata(info.path, strict=False)
    return layout_of(info.channels, metadata.channel_mask, metadata.ixml, given, str(info.path))


def selection(info: AudioInfo, layout: Layout, track: str | None = None) -> tuple[AudioInfo, Layout]:
    """What measuring, checking and delivering read of a file: all of a mix; of a recorder's
    tracks, ``track`` (one, or a pair as stereo), else its mix track (one, or a pair). Raises
    AudioInputError, listing the tracks, where there is no mix track to fall back on."""
    where = info.path
    if not layout.tracks:
        if track is not None:
            raise AudioInputError(f"{where}: --track picks one of a recorder's tracks; this file is a {layout.name} mix")
        return info, layout
    if track is not None:
        picked = layout.pick(track, where)
    else:
        picked = tuple(i for i, name in enumerate(layout.roles) if MIX_TRACK.match(name))
        if not 1 <= len(picked) <= 2:
            named = [f"{i + 1} {name}" for i, name in enumerate(layout.roles) if name != str(i + 1)]
            listing = ", ".join(named) if named else f"1 to {layout.channels}, unnamed"
            raise AudioInputError(f"{where}: a {layout.name} production file with no mix track; choose one with "
                                  f"--track (its tracks: {listing}), or say what the channels are with --layout")
    if len(picked) > 2:
        raise AudioInputError(f"{where}: --track picks one track, or two as a stereo pair; not {len(picked)}")
    return info.picking(picked), MIXES["mono" if len(picked) == 1 else "stereo"]
