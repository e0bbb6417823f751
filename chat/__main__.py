"""`python -m chat`: the command line (chat/ui/cli.py)."""
import sys

from chat.ui.cli import main

if __name__ == "__main__":
    sys.exit(main())
