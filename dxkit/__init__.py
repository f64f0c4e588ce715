"""dxkit: restore location dialogue and deliver it to a loudness spec, verified by measurement.

Public API:

- ``measure(path)`` -> ``Measurement``: BS.1770 loudness, LRA, true peak, RMS, noise floor.
- ``check(path, spec)`` -> ``CheckResult``: every requirement of a spec, pass or fail.
- ``deliver(src, dst, spec)`` -> ``DeliveryResult``: high-pass, leveler, gain, true-peak limit,
  encode, then decode and verify what was written.
- ``specs.load(name_or_path)`` / ``specs.builtin_names()``: the destination presets.
- ``restore(src, dst, chain="deplosive,denoise,dereverb", strength=None, spec="none",
  sample_rate=None, device="auto", precision=None)`` -> ``RestoreResult``: run the restoration
  networks on a file (streamed, bounded memory), then write or deliver it; ``src`` may be an
  array ``[C, T]`` with its ``sample_rate``, and with no ``dst`` the restored 48 kHz array comes back.
- ``load_model(name_or_path)``: a network as a torch module (``[B, T]`` at 48 kHz in and out).

``restore`` and ``load_model`` load torch on first use; the rest never does.
"""

from dxkit.deliver import __version__, specs
from dxkit.deliver.requirements import Requirement
from dxkit.deliver.delivery import DeliveryResult  # dxkit.deliver, the package, is callable
from dxkit.deliver.errors import AudioInputError, DxkitError, OutputError, SpecError
from dxkit.deliver.meter import Measurement, measure
from dxkit.deliver.check import CheckResult, check



def __getattr__(name: str):
    # The networks need torch; importing dxkit (for measure/check/deliver) must not load it.
    if name == "restore":
        from dxkit.infer.chain import restore_file

        return restore_file
    if name == "load_model":
        from dxkit.models import load

        return load
    raise AttributeError(f"module 'dxkit' has no attribute {name!r}")


__all__ = [
    "__version__", "specs", "measure", "check", "deliver", "Measurement", "CheckResult",
    "DeliveryResult", "Requirement", "restore", "load_model", "DxkitError", "AudioInputError", "OutputError", "SpecError",
]
