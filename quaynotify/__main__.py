"""`python -m quaynotify`."""

from quaynotify.cli import main

main()
