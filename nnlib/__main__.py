"""``python -m nnlib``: see ``nnlib.cli``."""

from .cli import main

raise SystemExit(main())
