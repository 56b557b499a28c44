"""Data layer: DuckDB SQL files in sql/ validate, canonicalize and aggregate the input."""
