"""Exceptions raised by the matching engine.

Every refusal is an ``EngineError`` so the Django layer can turn any of them into one client error,
while tests and callers that care can still tell the reasons apart. An operation that raises leaves
the book exactly as it was: all checks run before the first mutation.
"""


class EngineError(Exception):
    """Base class: the engine refused an operation and changed nothing."""


class InvalidOrder(EngineError):
    """An order field is malformed (wrong side, missing sequence on rebuild, ...)."""


class InvalidPrice(InvalidOrder):
    """A price is not a positive integer number of fen."""


class InvalidQuantity(InvalidOrder):
    """A quantity is not a positive integer number of tonnes, or exceeds what is available."""


class DuplicateOrder(EngineError):
    """An order id (or, on rebuild, a sequence) is already open in the book."""


class UnknownOrder(EngineError):
    """No open order in the book has this id (never submitted, filled or cancelled)."""


class SelfTrade(EngineError):
    """A taker tried to take their own listing; the exchange refuses self-trades."""


class ListingNotTakeable(EngineError):
    """The listing is not within the best price levels a taker may choose from."""


class CrossedBook(EngineError):
    """Orders given for a rebuild would match each other, so they cannot all be open at once."""
