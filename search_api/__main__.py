"""`python -m search_api` runs the `gongkai` command."""

from search_api.cli import main

main()
