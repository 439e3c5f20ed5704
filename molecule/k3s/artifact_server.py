"""A k3s release mirror for the Molecule scenario: serves a directory on
127.0.0.1, on a free port it writes to DIR/port (its process id to DIR/pid),
for at most an hour."""

import functools
import http.server
import os
import sys
import threading
from pathlib import Path

root = Path(sys.argv[1])
handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
(root / "pid").write_text(str(os.getpid()))
(root / "port").write_text(str(server.server_address[1]))
# A scenario that dies before cleanup must not leave a server behind for long.
threading.Timer(3600, server.shutdown).start()
server.serve_forever()
