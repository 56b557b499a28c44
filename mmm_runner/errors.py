"""Errors a user can act on. Their message is the one line printed when a run stops."""


class MMMError(Exception):
    """Base class: a problem with the user's input or config, not a bug."""


class ConfigError(MMMError):
    """The composed configuration cannot describe a valid run."""


class DataValidationError(MMMError):
    """The input file failed a validation check; details are in validation_summary.json."""
