"""`python3 -m release STEP`: the deploy workflow's release steps (release.cli)."""

from release.cli import main

raise SystemExit(main())
