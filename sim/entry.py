"""The `cloudtwin` command's entry point: a Ctrl-C while the CLI is still loading is one line, not a traceback.

Loading the CLI (Hydra, the scenario schema) takes about a second, before `sim.cli` can
install its own handling of interrupts; this module imports nothing heavy itself.
"""

import sys


def main() -> int:
    try:
        from sim.cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("cloudtwin: interrupted while starting; nothing was written\n")
        return 130
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
