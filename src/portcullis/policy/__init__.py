"""The gate: policy files, suppressions, VEX, baselines, and the verdict they give."""
