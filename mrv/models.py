"""Tables of the mrv app."""
