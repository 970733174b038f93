"""The physical floor of ``p4.mjs``: echo newline-delimited frames from stdin to stdout.

Blocking reads of up to 64 KiB; every complete line received is written back (all the complete lines of one
read in one ``write``), the partial tail is kept for the next read. No parsing, no event loop.
"""

from __future__ import annotations

import os


def main() -> None:
    pending = b""
    while True:
        data = os.read(0, 65536)
        if not data:
            return
        pending += data
        cut = pending.rfind(b"\n") + 1
        if cut:
            view = memoryview(pending)[:cut]
            while view:
                view = view[os.write(1, view) :]
            pending = pending[cut:]


if __name__ == "__main__":
    main()
