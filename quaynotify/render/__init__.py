"""Rendering: the messages of an event (Jinja) and Quay's JSON body templates."""
