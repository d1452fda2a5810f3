"""``python -m newsletter``: the same command line as ``newsletter``."""

from newsletter.cli import main

main()
