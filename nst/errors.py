"""Errors a user can act on.

Every failure caused by input (an image, a setting, missing weights) is raised as
`NSTError`, whose message names the file or option and says what to do. The CLI
prints it as one line and exits with code 2, so no library traceback reaches a user.
"""


class NSTError(Exception):
    """A problem with the user's input or environment, explained in one line."""

    exit_code = 2


class ImageError(NSTError):
    """An image file that cannot be used: unreadable, corrupt, too small, too large."""


class SettingsError(NSTError):
    """An option with a value outside what the algorithm accepts."""


class WeightsError(NSTError):
    """Network weights that cannot be found, read, or trusted."""


class DivergedError(NSTError):
    """The optimisation produced a non-finite loss; the last good image was kept."""
