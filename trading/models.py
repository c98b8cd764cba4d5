"""Tables of the trading app."""
