"""The delivery back end: meter, spec presets, mixing, limiter, encoders, verification, reports.

Usable on any audio file without a model; never imports torch.
"""

__version__ = "0.1.0"
