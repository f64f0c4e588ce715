"""Delivery spec presets (specs/*.yaml) and the Hydra training configs (train.yaml and its groups)."""
