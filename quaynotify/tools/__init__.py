"""Generators of the shipped files: the man page and the shell completions."""
