"""The `cloudtwin` command's entry point: a Ctrl-C while the CLI is still loading is one line, not a traceback.

Loading the CLI (Hydra, the scenario schema) takes about a second, before `sim.cli` can
install its own handling of interrupts; this module imports nothing heavy itself.
"""

import os
import signal
import sys


def _interrupt_again(unraisable, default=sys.unraisablehook) -> None:
    """A Ctrl-C that CPython swallowed (it landed in a finalizer or a weakref callback, and was
    printed as "Exception ignored in: ..." while the run went on: about one in 40 here) is sent
    again, as a user would press Ctrl-C again; other unraisable errors are printed as before."""
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        os.kill(os.getpid(), signal.SIGINT)
        return
    default(unraisable)


def main() -> int:
    sys.unraisablehook = _interrupt_again
    try:
        from sim.cli import main as cli_main
    except KeyboardInterrupt:
        sys.stderr.write("cloudtwin: interrupted while starting; nothing was written\n")
        return 130
    return cli_main()


if __name__ == "__main__":
    sys.exit(main())
