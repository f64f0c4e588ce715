"""The room and noise stage of a denoise or dereverb example, in torch: convolution with the room,
noise at its SNR, clipping, and the band limit of the recording. One implementation, run two ways:

- on the CPU, one example at a time, inside ``Mixer.example`` (loader workers, the test set);
- batched on the training device, when ``data.render`` puts it there (``datamodule``): the room
  convolution is the largest share of a dereverb example's synthesis cost, and on a GPU it is
  nearly free, which leaves the loader workers only the noise synthesis and EQ.

A ``Recipe`` is everything drawn at random for the example; rendering draws nothing, so both ways
give the same example for the same seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy import signal

from .levels import batch_active_rms

RECIPE_TASKS = ("denoise", "dereverb")  # the tasks whose examples are made from a ``Recipe``


@dataclass(frozen=True)
class Recipe:
    """One example before its room and noise: 1-D float32 arrays and the drawn amounts.

    With ``wet = conv(speech, input_ir)``:
    ``noisy = clip(wet + noise * active_rms(wet) * noise_gain)``, ``target = conv(speech, target_ir)``,
    then both band-limited at ``lowpass_hz`` (0: full band), as if the whole scene had been
    recorded at twice that rate. An impulse response of one sample ``[1.0]`` is no room.
    ``clip`` is the clipping level as a fraction of the mix's peak (0: no clipping).
    ``bandwidth_hz`` is what the target really holds: the speech's own bandwidth or the band
    limit, whichever is lower.
    """

    speech: np.ndarray
    target_ir: np.ndarray
    input_ir: np.ndarray
    noise: np.ndarray
    noise_gain: float
    clip: float
    bandwidth_hz: float
    lowpass_hz: float = 0.0

    def tensors(self) -> tuple[torch.Tensor, ...]:
        """The recipe as tensors a DataLoader can stack: the responses cut or zero-padded to the
        speech's length (later taps cannot reach the output), then gain, clip, band limit and
        bandwidth."""
        n = len(self.speech)
        return (torch.from_numpy(self.speech), fit_length(self.target_ir, n), fit_length(self.input_ir, n),
                torch.from_numpy(self.noise), torch.tensor(self.noise_gain, dtype=torch.float32),
                torch.tensor(self.clip, dtype=torch.float32),
                torch.tensor(self.lowpass_hz, dtype=torch.float32),
                torch.tensor(self.bandwidth_hz, dtype=torch.float32))


def fit_length(ir: np.ndarray, n: int) -> torch.Tensor:
    """``ir`` as ``n`` float32 samples, cut or zero-padded, so responses of any length stack."""
    out = torch.zeros(n)
    m = min(n, len(ir))
    out[:m] = torch.from_numpy(np.asarray(ir[:m], np.float32))
    return out


def convolve(x: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
    """``x [..., T] * ir [..., L]``, the first ``T`` samples (the room's onset stays aligned with
    the dry speech). On the CPU through scipy, whose FFT measured 2-3 times faster than this torch
    build's on one core; elsewhere ``batch_convolve``."""
    if ir.shape[-1] == 1:
        return x * ir
    if x.device.type == "cpu":
        return torch.from_numpy(signal.fftconvolve(x.numpy(), ir.numpy(), axes=-1)[..., :x.shape[-1]])
    return batch_convolve(x, ir)


def batch_convolve(x: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
    """``convolve`` for ``[B, T]`` rows on a device: rows whose response is a unit impulse (no
    room: most denoise examples) are copied, and only the others go through ``fft_convolve``."""
    dry = (ir[:, 0] == 1) & (ir[:, 1:] == 0).all(-1)
    if not dry.any():
        return fft_convolve(x, ir)
    out = x.clone()
    if not dry.all():
        out[~dry] = fft_convolve(x[~dry], ir[~dry])
    return out


def fft_convolve(x: torch.Tensor, ir: torch.Tensor) -> torch.Tensor:
    """``convolve`` in torch on any device: FFT at the next power of two."""
    size = 1 << (x.shape[-1] + ir.shape[-1] - 2).bit_length()
    y = torch.fft.irfft(torch.fft.rfft(x, size) * torch.fft.rfft(ir, size), size)
    return y[..., :x.shape[-1]]


def band_limit(x: torch.Tensor, cutoff_hz: torch.Tensor, rate: int = 48000) -> torch.Tensor:
    """Each row of ``x [B, T]`` low-passed at its ``cutoff_hz [B]``, as a recording made at twice
    that rate (or an MP3 with that encoder low-pass) would be; rows with a cutoff of 0 or at
    Nyquist are returned as they are. Zero-phase over the whole row (FFT bins above the cutoff
    zeroed, a raised-cosine transition over the 8 % below it, like a resampler's anti-alias
    filter), so the same cut applied to input and target keeps them aligned."""
    cut = (cutoff_hz > 0) & (cutoff_hz < rate / 2)
    if not cut.any():
        return x
    n = x.shape[-1]
    freqs = torch.fft.rfftfreq(n, 1 / rate, device=x.device, dtype=x.dtype)
    top = cutoff_hz[cut].to(x.dtype)[:, None]
    ramp = ((top - freqs[None, :]) / (0.08 * top)).clamp(0, 1)
    gain = 0.5 - 0.5 * torch.cos(torch.pi * ramp)
    out = x.clone()
    out[cut] = torch.fft.irfft(torch.fft.rfft(x[cut], n) * gain, n)
    return out


def band_limit_array(x: np.ndarray, cutoff_hz: float, rate: int = 48000) -> np.ndarray:
    """``band_limit`` for one 1-D array: ``x`` as float32, low-passed at ``cutoff_hz``."""
    row = torch.from_numpy(np.asarray(x, np.float32))[None]
    return band_limit(row, torch.tensor([cutoff_hz], dtype=torch.float32), rate)[0].numpy()


def render(speech: torch.Tensor, target_ir: torch.Tensor, input_ir: torch.Tensor,
           noise: torch.Tensor, noise_gain: torch.Tensor, clip: torch.Tensor,
           lowpass_hz: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """``(noisy, target)``, each ``[B, T]``, from a batch of recipes (see ``Recipe``)."""
    target = convolve(speech, target_ir)
    same_room = input_ir is target_ir or torch.equal(input_ir, target_ir)  # denoise: one room for both
    wet = target if same_room else convolve(speech, input_ir)
    noisy = wet + noise * (batch_active_rms(wet) * noise_gain)[:, None]
    limit = (noisy.abs().amax(-1) * clip)[:, None]
    clipped = clip[:, None] > 0
    noisy = torch.where(clipped, torch.clamp(noisy, -limit, limit), noisy)
    return band_limit(noisy, lowpass_hz), band_limit(target, lowpass_hz)


def render_one(recipe: Recipe) -> tuple[np.ndarray, np.ndarray]:
    """``render`` for one recipe, on the CPU: ``(noisy, target)`` float32 arrays."""
    speech = torch.from_numpy(recipe.speech)[None]
    target_ir = torch.from_numpy(np.asarray(recipe.target_ir, np.float32))[None]
    input_ir = target_ir if recipe.input_ir is recipe.target_ir else \
        torch.from_numpy(np.asarray(recipe.input_ir, np.float32))[None]
    noisy, target = render(speech, target_ir, input_ir, torch.from_numpy(recipe.noise)[None],
                           torch.tensor([recipe.noise_gain]), torch.tensor([recipe.clip]),
                           torch.tensor([recipe.lowpass_hz]))
    return noisy[0].numpy(), target[0].numpy()


def full_scale(noisy: torch.Tensor, target: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Both scaled so that each row's input peaks at 0.99 at most, as a file would be."""
    scale = torch.clamp(0.99 / noisy.abs().amax(-1).clamp_min(1e-9), max=1.0)[:, None]
    return noisy * scale, target * scale
