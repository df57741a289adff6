"""Attribution: exposure assignment, lift statistics, uplift and incremental revenue.

The statistics modules here are pure: they take per-arm sufficient statistics
(`attribution.sufficient.ArmStats`) that SQL or a DataFrame produces and return frozen
result dataclasses. Nothing in them reads files, databases or the environment.
"""
