"""dxkit: restore location dialogue and deliver it to a loudness spec, verified by measurement.

Public API:

- ``measure(path, dialogue=False)`` -> ``Measurement``: BS.1770 loudness, LRA, true peak, RMS,
  noise floor; with ``dialogue``, the dialogue-gated loudness and the share of dialogue too.
- ``detect(path)`` -> ``DialogueActivity``: where dialogue is, per 10 ms (``.segments()``).
- ``check(path, spec)`` -> ``CheckResult``: every requirement of a spec, pass or fail.
- ``deliver(src, dst, spec)`` -> ``DeliveryResult``: leveler, gain, true-peak limit (a dialogue
  high-pass only if asked), encode, then decode and verify what was written; a WAV input's
  ``bext`` and iXML go with it.
- ``specs.load(name_or_path)`` / ``specs.builtin_names()``: the destination presets.
- ``restore(src, dst, chain="deplosive,denoise,dereverb", strength=None, spec="none",
  sample_rate=None, device="auto", precision=None)`` -> ``RestoreResult``: run the restoration
  networks on a file (streamed, bounded memory), then write it at its own rate and depth with its
  metadata, or deliver it; ``src`` may be an array ``[C, T]`` with its ``sample_rate``, and with
  no ``dst`` the restored 48 kHz array comes back.
- ``load_model(name_or_path)``: a network as a torch module (``[B, T]`` at 48 kHz in and out).
- ``learn(takes, output, noise_files=(), ranges=(), budget_s=120)`` -> ``LearnResult``: adapt the
  denoiser to the noise between the lines of a scene's takes (``dxkit learn``), checked against
  the shipped one on speech it never heard; ``output`` then works in ``chain`` like any network.

``restore``, ``detect``, ``load_model``, ``learn``, ``measure(..., dialogue=True)`` and ``check`` with a spec
that needs the dialogue load torch on first use; the rest never does.
"""

from dxkit.deliver import __version__, specs
from dxkit.deliver.requirements import Requirement
from dxkit.deliver.delivery import DeliveryResult  # dxkit.deliver, the package, is callable
from dxkit.deliver.errors import AudioInputError, DxkitError, OutputError, SpecError
from dxkit.deliver.meter import Measurement
from dxkit.deliver.meter import measure as _measure
from dxkit.deliver.check import CheckResult
from dxkit.deliver.check import check as _check


def measure(path, overs_above_dbtp: float | None = None, dialogue: bool = False, layout: str | None = None,
            track: str | None = None) -> Measurement:
    """Measure an audio file; with ``dialogue``, also where dialogue is and its loudness
    (``Measurement.dialogue_lufs`` and ``dialogue_fraction``; runs the detector, loads torch).
    ``layout``: what the channels are where the file does not say; ``track``: which of a
    recorder's tracks (default: its mix track; ``dxkit measure`` measures each)."""
    m = _measure(path, overs_above_dbtp, layout, track)
    if dialogue:
        from dxkit.deliver.dialogue import with_dialogue
        from dxkit.infer.detect import detect

        m = with_dialogue(m, detect(path, layout=layout, track=track).active)
    return m


def check(path, spec, layout: str | None = None, track: str | None = None) -> CheckResult:
    """Judge ``path`` against every requirement of ``spec``. A spec that needs to know where
    the dialogue is (dialogue-gated loudness, ACX room tone) runs the detector (loads torch);
    where its weights are missing, those requirements fail and say why."""
    spec = specs.resolve(spec)
    mask = None
    if spec.needs_dialogue:
        from dxkit.infer.detect import detect
        from dxkit.models import WeightsError

        try:
            mask = detect(path, layout=layout, track=track).active
        except WeightsError:
            mask = None
    return _check(path, spec, mask, layout, track)


def __getattr__(name: str):
    # The networks need torch; importing dxkit (for measure/check/deliver) must not load it.
    if name == "restore":
        from dxkit.infer.chain import restore_file

        return restore_file
    if name == "detect":
        from dxkit.infer.detect import detect

        return detect
    if name == "learn":
        from dxkit.train.learn import learn

        return learn
    if name == "load_model":
        from dxkit.models import load

        return load
    raise AttributeError(f"module 'dxkit' has no attribute {name!r}")


__all__ = [
    "__version__", "specs", "measure", "check", "deliver", "Measurement", "CheckResult",
    "DeliveryResult", "Requirement", "restore", "detect", "load_model", "learn", "DxkitError", "AudioInputError", "OutputError", "SpecError",
]
