#!/usr/bin/env python
import os
import sys


def main() -> None:
    if sys.argv[1:2] == ["pet_suv"]:  # Django-free fast path (quant/pet/cli.py), same contract
        from quant.pet.cli import main as pet_suv_main

        sys.exit(pet_suv_main(sys.argv[2:]))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
