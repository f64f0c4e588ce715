"""dxkit: restore location dialogue and deliver it to a loudness spec, verified by measurement.

Public API (this release: the delivery back end; the networks and ``restore`` follow):

- ``measure(path)`` -> ``Measurement``: BS.1770 loudness, LRA, true peak, RMS, noise floor.
- ``check(path, spec)`` -> ``CheckResult``: every requirement of a spec, pass or fail.
- ``deliver(src, dst, spec)`` -> ``DeliveryResult``: high-pass, leveler, gain, true-peak limit,
  encode, then decode and verify what was written.
- ``specs.load(name_or_path)`` / ``specs.builtin_names()``: the destination presets.
"""

from dxkit.deliver import __version__, specs
from dxkit.deliver.requirements import Requirement
from dxkit.deliver.delivery import DeliveryResult, deliver
from dxkit.deliver.errors import AudioInputError, DxkitError, OutputError, SpecError
from dxkit.deliver.meter import Measurement, measure
from dxkit.deliver.check import CheckResult, check

__all__ = [
    "__version__", "specs", "measure", "check", "deliver", "Measurement", "CheckResult",
    "DeliveryResult", "Requirement", "DxkitError", "AudioInputError", "OutputError", "SpecError",
]
