"""``python -m flowintegrations.cli``: the ``flowintegrations`` command."""

import sys

from flowintegrations.cli._main import main

sys.exit(main())
