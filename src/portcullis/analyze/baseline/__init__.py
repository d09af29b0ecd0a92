"""Baseline checks: the image's unsafe settings, grouped into named baselines."""
