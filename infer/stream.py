"""Streaming the chain: many signals at once, chunk by chunk, in bounded memory.

Every network is a BandNet (``models/bandnet.py``): an STFT with frame ``k`` centred on sample
``k * hop`` of the signal (zero-padded by half a window in front), a network that carries its
state from frame to frame, and an overlap-add inverse STFT. A ``Stream`` runs that same
computation piece by piece: each ``Lane`` (one channel of one file) keeps, per network, the input
samples not yet framed, the overlap-add tail and the network's ``State``. The output equals
``BandNet.forward`` on the whole signal to float rounding (the tests hold it to 1e-4 and look for
seams at chunk borders), and is as long as the input and aligned with it.

Lanes from many files run side by side as the rows of one batch: at each network, the lanes that
have ``chunk_frames`` frames ready go through it together (a lane at its end goes with the others
that have as many frames left). Memory is bounded by the number of lanes and the chunk size, not
by the length of any file.

Audio here is 48 kHz float32; a lane's samples are 1-D tensors on the stream's device.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import torch

from dxkit.models.bandnet import BandNet, State

from .settings import CHUNK_FRAMES



@dataclass(eq=False)  # lanes are compared by identity
class _Place:
    """One lane at one network: what the next chunk of frames needs."""

    pending: torch.Tensor  # input samples from the next frame's first sample on (zero-padded start)
    tail: torch.Tensor  # overlap-add sum not yet complete, from the next output sample on
    state: State
    frames_done: int = 0
    skip: int = 0  # output samples still to drop: the front padding and the look-ahead's delay
    received: int = 0  # input samples received so far
    finished: bool = False  # no more input will come


@dataclass(eq=False)
class Lane:
    """One signal of ``length`` samples going through the whole chain."""

    length: int
    places: list[_Place]
    out: list[torch.Tensor] = field(default_factory=list)
    emitted: int = 0
    failed: bool = False  # a network produced NaN or Inf on this lane; its output is not to be used

    @property
    def done(self) -> bool:
        """Every output sample has been produced (and perhaps taken)."""
        return self.emitted >= self.length


class Stream:
    """Runs ``nets`` in order over any number of lanes; see the module docstring.

    ``strength`` holds each network's attenuation limit in dB (None: no limit). On CUDA,
    ``precision`` ``"bf16"`` or ``"fp16"`` runs the networks under autocast; the STFTs and the
    networks' input features stay float32. The networks are moved to ``device`` and put in eval
    mode (in place).
    """

    def __init__(self, nets: list[BandNet], strength: list[float | None] | None = None,
                 device: torch.device | str = "cpu", chunk_frames: int = CHUNK_FRAMES,
                 precision: str = "fp32", max_batch: int = 256) -> None:
        if precision not in ("fp32", "bf16", "fp16"):
            raise ValueError(f"precision {precision!r}: use fp32, bf16 or fp16")
        self.device = torch.device(device)
        if precision != "fp32" and self.device.type != "cuda":
            raise ValueError(f"precision {precision} needs a CUDA device; use fp32 on {self.device.type}")
        self.nets = [net.to(self.device).eval() for net in nets]
        for net in self.nets:
            if net.n_fft != 2 * net.hop:  # the frame count and the overlap-add assume two frames per sample
                raise ValueError("streaming needs a window of exactly two hops")
        self.strength = list(strength) if strength is not None else [None] * len(nets)
        self.chunk_frames, self.max_batch = chunk_frames, max_batch
        self.autocast = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(precision)
        # sqrt-Hann analysis and synthesis: the squared windows of overlapping frames sum to a
        # constant (1 at half overlap), which the inverse divides out, as torch.istft does.
        self.norms = [(net.window ** 2).reshape(-1, net.hop).sum(0) for net in self.nets]
        self.lanes: list[Lane] = []

    # --- lanes ------------------------------------------------------------------------------
    def open(self, length: int) -> Lane:
        """A new lane for a signal of ``length`` samples (48 kHz)."""
        if length <= 0:
            raise ValueError("a lane needs at least one sample")
        places = []
        for net in self.nets:
            pad = net.n_fft // 2
            places.append(_Place(torch.zeros(pad, device=self.device),
                                 torch.zeros(net.n_fft - net.hop, device=self.device),
                                 net.initial_state(1, self.device),
                                 skip=pad + net.lookahead * net.hop))
        lane = Lane(length, places)
        self.lanes.append(lane)
        return lane

    def push(self, lane: Lane, samples: np.ndarray | torch.Tensor, last: bool = False) -> None:
        """Give ``lane`` its next input samples (1-D); ``last`` says no more will come.

        Samples beyond the lane's length are dropped and a short input is padded with silence,
        so the output is always exactly ``length`` samples long."""
        place = lane.places[0]
        samples = torch.as_tensor(samples, dtype=torch.float32).to(self.device).reshape(-1)
        samples = samples[:max(lane.length - place.received, 0)]
        self._receive(place, samples)
        if last:
            place.finished = True

    def take(self, lane: Lane) -> np.ndarray:
        """The lane's output samples produced since the last call, as float32 numpy."""
        if not lane.out:
            return np.zeros(0, np.float32)
        out = torch.cat(lane.out).float().cpu().numpy()
        lane.out.clear()
        return out

    def close(self, lane: Lane) -> None:
        """Forget ``lane`` (finished or abandoned)."""
        self.lanes.remove(lane)

    # --- running ----------------------------------------------------------------------------
    def run(self) -> None:
        """Process every frame that is ready, network by network, lanes batched together."""
        with torch.inference_mode():
            for index in range(len(self.nets)):
                while True:
                    groups: dict[int, list[Lane]] = {}
                    for lane in self.lanes:
                        count = self._ready(index, lane)
                        if count:
                            groups.setdefault(count, []).append(lane)
                    if not groups:
                        break
                    for count, lanes in groups.items():
                        for start in range(0, len(lanes), self.max_batch):
                            self._step(index, lanes[start:start + self.max_batch], count)

    def _total_frames(self, net: BandNet, length: int) -> int:
        # as BandNet.forward: the signal padded to whole hops and the look-ahead, frames
        # centred on every hop
        return -(-length // net.hop) + net.lookahead + net.n_fft // net.hop - 1

    def _ready(self, index: int, lane: Lane) -> int:
        """How many frames ``lane`` sends through network ``index`` now: a whole chunk, or at
        the end of its input whatever is left (the rest of the signal is silence)."""
        net, place = self.nets[index], lane.places[index]
        left = self._total_frames(net, lane.length) - place.frames_done
        if left <= 0:
            return 0
        if place.finished:  # pad one chunk at a time, so memory stays bounded here too
            count = min(left, self.chunk_frames)
            needed = (count - 1) * net.hop + net.n_fft
            if place.pending.numel() < needed:
                place.pending = torch.cat([place.pending, place.pending.new_zeros(needed - place.pending.numel())])
            return count
        available = (place.pending.numel() - net.n_fft) // net.hop + 1 if place.pending.numel() >= net.n_fft else 0
        return self.chunk_frames if min(available, left) >= self.chunk_frames else 0

    def _step(self, index: int, lanes: list[Lane], count: int) -> None:
        net, norm = self.nets[index], self.norms[index]
        places = [lane.places[index] for lane in lanes]
        span = (count - 1) * net.hop + net.n_fft
        frames = torch.stack([p.pending[:span] for p in places]).unfold(-1, net.n_fft, net.hop)
        spec = torch.fft.rfft(frames * net.window, dim=-1)  # [B, count, bins], as torch.stft
        state = State(torch.cat([p.state.hidden for p in places], dim=1),
                      torch.cat([p.state.past for p in places], dim=0),
                      torch.cat([p.state.waiting for p in places], dim=0))
        with torch.autocast(self.device.type, dtype=self.autocast, enabled=self.autocast is not None):
            spec, state = net.enhance(spec, state, strength_db=self.strength[index])
        finite = torch.isfinite(torch.view_as_real(spec)).flatten(1).all(dim=1).tolist()
        pieces = torch.fft.irfft(spec, n=net.n_fft, dim=-1) * net.window  # [B, count, n_fft]

        hop, overlap = net.hop, net.n_fft - net.hop
        summed = torch.zeros(len(lanes), count * hop + overlap, device=self.device)
        summed[:, :overlap] += torch.stack([p.tail for p in places])
        for part in range(net.n_fft // hop):
            summed[:, part * hop:part * hop + count * hop] += pieces[..., part * hop:(part + 1) * hop].reshape(len(lanes), -1)
        complete = summed[:, :count * hop] / norm.repeat(count)

        for row, (lane, place) in enumerate(zip(lanes, places)):
            place.pending = place.pending[count * hop:]
            place.tail = summed[row, count * hop:].clone()
            place.state = State(state.hidden[:, row:row + 1].clone(), state.past[row:row + 1].clone(),
                                state.waiting[row:row + 1].clone())
            place.frames_done += count
            lane.failed |= not finite[row]
            out = complete[row]
            drop = min(place.skip, out.numel())
            place.skip -= drop
            self._pass_on(lane, index, out[drop:])

    def _pass_on(self, lane: Lane, index: int, samples: torch.Tensor) -> None:
        place = lane.places[index]
        total = self._total_frames(self.nets[index], lane.length)
        if index + 1 < len(self.nets):
            nxt = lane.places[index + 1]
            samples = samples[:max(lane.length - nxt.received, 0)]
            self._receive(nxt, samples)
            nxt.finished = place.frames_done >= total
        else:
            samples = samples[:max(lane.length - lane.emitted, 0)]
            lane.out.append(samples.clone())
            lane.emitted += samples.numel()

    @staticmethod
    def _receive(place: _Place, samples: torch.Tensor) -> None:
        if samples.numel():
            place.pending = torch.cat([place.pending, samples])
            place.received += samples.numel()


def run_whole(stream: Stream, audio: np.ndarray, push_samples: int = 48000 * 10) -> np.ndarray:
    """Run ``audio`` (``[C, T]`` float32, 48 kHz) through ``stream``, one lane per channel;
    returns ``[C, T]``. The input is pushed ``push_samples`` at a time, so memory stays bounded
    by the input array itself."""
    lanes = [stream.open(audio.shape[1]) for _ in range(audio.shape[0])]
    out = np.zeros_like(audio, dtype=np.float32)
    try:
        for start in range(0, audio.shape[1], push_samples):
            last = start + push_samples >= audio.shape[1]
            for channel, lane in enumerate(lanes):
                stream.push(lane, audio[channel, start:start + push_samples], last=last)
            stream.run()
            _collect(stream, lanes, out)
        stream.run()
        _collect(stream, lanes, out)
    finally:
        for lane in lanes:
            stream.close(lane)
    return out


def _collect(stream: Stream, lanes: list[Lane], out: np.ndarray) -> None:
    for channel, lane in enumerate(lanes):
        start = lane.emitted - sum(t.numel() for t in lane.out)
        piece = stream.take(lane)
        out[channel, start:start + piece.size] = piece
