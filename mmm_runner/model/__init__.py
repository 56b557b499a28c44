"""The PyMC model of SPEC §2 and how it is sampled. pymc is imported lazily (it costs ~3 s)."""
