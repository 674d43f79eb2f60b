"""The compat scripts' checks: each is counted, and the first that fails
ends the script with exit status 1, saying what failed."""
import sys


class Checks:
    def __init__(self):
        self.count = 0

    def __call__(self, cond, what):
        self.count += 1
        if not cond:
            print(f"FAILED: {what}", file=sys.stderr)
            sys.exit(1)
