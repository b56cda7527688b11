"""`python -m apidhcpd.cli`: the command line."""

import sys

from apidhcpd.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
