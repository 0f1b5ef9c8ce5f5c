"""``python -m flowintegrations``: the ``flowintegrations`` command."""

import sys

from flowintegrations.cli import main

sys.exit(main())
