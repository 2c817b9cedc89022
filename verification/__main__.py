"""``python -m verification``: the ``prove`` command on its own."""

import sys

from verification.cli import main

sys.exit(main())
