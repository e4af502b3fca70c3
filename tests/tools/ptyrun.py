#!/usr/bin/env python3
"""ptyrun.py — run a command with its stderr on a pseudo-terminal, for the
progress-line tests (tests/t8000-progress.sh): heapsnap draws its progress
line only when stderr is a terminal.

    ptyrun.py TTYFILE [--all] -- COMMAND [ARGS...]

Only stderr is the terminal (stdout and stdin are left as given), unless
--all puts stdout on it too.  Everything written to the terminal is saved
byte for byte in TTYFILE.  Exits with the command's exit status.
"""
import os
import sys


def main():
    args = sys.argv[1:]
    if len(args) < 3 or "--" not in args:
        sys.exit(__doc__)
    cut = args.index("--")
    opts, cmd = args[:cut], args[cut + 1:]
    out, both = opts[0], "--all" in opts[1:]
    master, slave = os.openpty()
    pid = os.fork()
    if pid == 0:
        os.close(master)
        os.dup2(slave, 2)
        if both:
            os.dup2(slave, 1)
        os.close(slave)
        try:
            os.execvp(cmd[0], cmd)
        except OSError as e:
            os.write(2, f"ptyrun: {cmd[0]}: {e}\n".encode())
            os._exit(127)
    os.close(slave)
    data = bytearray()
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:  # EIO: every writer to the terminal has closed it
            break
        if not chunk:
            break
        data += chunk
    _, status = os.waitpid(pid, 0)
    with open(out, "wb") as f:
        f.write(data)
    sys.exit(os.waitstatus_to_exitcode(status))


main()
