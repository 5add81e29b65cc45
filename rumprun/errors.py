"""The one exception type the tools raise for anything the user can fix."""


class RumprunError(Exception):
    """A failure explained in one user-facing sentence.

    The command-line entry points print the sentence (prefixed with the
    program's name) on stderr and exit with status 2; nothing else of the
    failure reaches the user.
    """

    exit_status = 2
