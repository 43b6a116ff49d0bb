"""Run the ``nuvera`` command line as ``python -m nuvera_client``."""

from nuvera_client._cli import main

raise SystemExit(main())
