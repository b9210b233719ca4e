"""What every text box accepts: a question or a query, checked the same way everywhere."""

from __future__ import annotations

from mmdemo.config import Limits
from mmdemo.errors import InputError


def check_text(text: str | None, limits: Limits, what: str, example: str) -> str:
    """The text with its whitespace collapsed; InputError when a person would not call it a ``what``.

    ``example`` is offered in the message for an empty box.
    """
    clean = " ".join((text or "").split())
    if not clean:
        raise InputError(f"Please type a {what}, e.g. “{example}”")
    if len(clean) < limits.min_question_chars or not any(ch.isalnum() for ch in clean):
        raise InputError(f"The {what} is too short; please use at least {limits.min_question_chars} characters.")
    if len(clean) > limits.max_question_chars:
        raise InputError(
            f"The {what} is too long ({len(clean):,} characters); please keep it under "
            f"{limits.max_question_chars:,} characters."
        )
    return clean
