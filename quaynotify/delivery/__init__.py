"""Delivery: planning what an event (or a stream of them) reaches, running the attempts,
retrying, replaying."""
