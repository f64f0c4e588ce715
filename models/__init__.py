"""Restoration networks (denoise, dereverb, deplosive): arrives with issue 3."""
