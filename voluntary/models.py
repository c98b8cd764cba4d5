"""Tables of the voluntary app."""
