"""``python -m cotmask.udp``: regenerate graphs/*.json."""

from . import main

main()
