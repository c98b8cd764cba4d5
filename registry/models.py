"""Tables of the registry app."""
