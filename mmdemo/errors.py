"""The one exception type that means "the user's input is at fault".

Everything the user can hand us (files, questions, settings) is validated deep inside the
library, where the knowledge lives; the UI turns an ``InputError`` into ``gr.Error`` with the
message unchanged, so messages are written for people, not for developers.
"""


class InputError(ValueError):
    """Bad user input; ``str(error)`` is shown to the user as it is."""
