"""`python -m service.cli` is `headlines`."""

from service.cli import main

main()
