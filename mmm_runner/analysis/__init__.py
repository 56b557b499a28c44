"""Post-fit analysis: diagnostics, decomposition, ROI, fit metrics. Pure functions of arrays."""
