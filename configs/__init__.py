"""Delivery spec presets (specs/*.yaml) and, later, the Hydra training configs."""
