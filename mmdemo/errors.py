"""The one exception type that means "the user's input is at fault".

Everything the user can hand us (files, questions, settings) is validated deep inside the
library, where the knowledge lives; the UI turns an ``InputError`` into ``gr.Error`` with the
message unchanged, so messages are written for people, not for developers.
"""


from collections.abc import Callable, Sequence

SHOWN_NAMES = 5  # offending names an error message lists before "..."


class InputError(ValueError):
    """Bad user input; ``str(error)`` is shown to the user as it is."""


def first_names(names: Sequence, render: Callable[[object], str] = str) -> str:
    """The first few of ``names`` for an error message, with "..." when there are more."""
    shown = ", ".join(render(name) for name in names[:SHOWN_NAMES])
    return shown + (", ..." if len(names) > SHOWN_NAMES else "")
