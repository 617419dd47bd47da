"""`python -m sim` is the `blocsim` command."""

from sim.cli import main

raise SystemExit(main())
