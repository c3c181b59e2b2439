"""The catalogue: Quay's events, their data and their filters."""
