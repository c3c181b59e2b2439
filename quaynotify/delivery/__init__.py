"""Delivery: planning what an event reaches, running the attempts, retrying, replaying."""
