#!/usr/bin/env python
"""Django's command-line utility for Platos governance."""

import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "platos.settings")
    if sys.argv[1:2] == ["generate_keys"]:
        # Making keys must work before any key exists, so it does not load settings
        # (which refuse to start without keys).
        from platos.core.keygen import main as generate_keys

        sys.exit(generate_keys(sys.argv[2:]))
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
