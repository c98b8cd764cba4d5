"""Tables of the allowances app."""
