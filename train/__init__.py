"""Training stack (Lightning + Hydra): arrives with issue 3."""
