"""The `cloudtwin` command's entry point: a Ctrl-C while the CLI is still loading is one line, not a traceback.

Loading the CLI (Hydra, the scenario schema) takes about a second, before `sim.cli` can
install its own handling of interrupts; this module imports nothing heavy itself.
"""

import signal
import sys

RESEND_AFTER_S = 0.05  # a hook returns in microseconds; a user's second Ctrl-C comes far later


def _interrupt_again(unraisable, default=sys.unraisablehook) -> None:
    """A Ctrl-C that CPython swallowed (it landed in a finalizer or a weakref callback, and was
    printed as "Exception ignored in: ..." while the run went on: about one in 40 here) is sent
    again, as a user would press Ctrl-C again; other unraisable errors are printed as before.

    Sent from another thread (`_thread.interrupt_main`, RESEND_AFTER_S later), so it reaches the
    main thread after this hook has returned (starting a thread waits for it to start). Sent from
    here (os.kill, or interrupt_main in this thread) it was raised at once, inside the hook, where
    CPython swallowed it a second time and printed its traceback (CI caught it). Should it land in
    a finalizer again, this hook sends it again."""
    if unraisable.exc_type is not None and issubclass(unraisable.exc_type, KeyboardInterrupt):
        import _thread
        import threading

        timer = threading.Timer(RESEND_AFTER_S, _thread.interrupt_main, args=(signal.SIGINT,))
        timer.daemon = True
        try:
            timer.start()
        except RuntimeError:  # the interpreter is shutting down: there is nothing left to stop
            pass
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
