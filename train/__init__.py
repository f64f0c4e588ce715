"""Training and evaluation: degradation synthesis (noise, rooms, pops), the Lightning system and
datamodule, ``fit(cfg)`` (``python -m dxkit.train`` / ``dxkit train``), metrics, baselines and
``dxkit eval``. Needs the ``train`` and ``eval`` extras; inference never imports it."""
