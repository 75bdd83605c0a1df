"""`python -m headline_dedup.cli` is `headlines`."""

from headline_dedup.cli import main

main()
