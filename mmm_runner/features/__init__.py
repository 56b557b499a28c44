"""Feature engineering: pure numpy transforms and the builder that applies a feature config."""
