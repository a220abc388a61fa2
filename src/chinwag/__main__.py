"""``python -m chinwag`` is the ``chinwag`` command."""

from .cli import main

raise SystemExit(main())
