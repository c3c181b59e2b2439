"""quaynotify: Quay's repository notifications on the command line."""

__version__ = "0.1.0"
