"""``python -m rmcourse`` is the ``rmcourse`` command."""

from rmcourse.cli import main

raise SystemExit(main())
