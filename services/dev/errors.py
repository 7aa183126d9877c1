"""The local stack's one exception type."""


class StackError(Exception):
    """The local stack cannot start or stop; the message says what to do (and which log)."""
