"""Inference: sample any model structure with any backend and return ArviZ InferenceData.

Nothing here knows a particular structure: backends take a `ModelStructure`, the features and
the model and sampler configs (`fit`), and every backend returns the same variable names plus a
log_likelihood group, so diagnostics, LOO and analysis do not care which one ran.
"""
