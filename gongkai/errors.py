"""Root of the project's exception hierarchy; each package derives its own errors from it."""


class GongkaiError(Exception):
    """Base class for errors the user can act on (shown without a stack trace)."""
