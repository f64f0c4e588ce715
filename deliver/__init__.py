"""The delivery back end: meter, spec presets, mixing, limiter, encoders, verification, reports.

Usable on any audio file without a model; never imports torch.
"""

__version__ = "0.1.0"

import sys
import types


class _Package(types.ModuleType):
    """``dxkit.deliver`` is this package and, called, ``delivery.deliver``: so the public
    ``dxkit.deliver(src, dst, spec)`` works and so does ``import dxkit.deliver.meter`` (a
    function of that name in ``dxkit`` would hide the package from the import system)."""

    def __call__(self, *args, **kwargs):
        from .delivery import deliver

        return deliver(*args, **kwargs)


sys.modules[__name__].__class__ = _Package
