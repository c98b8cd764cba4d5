"""Tables of the compliance app."""
