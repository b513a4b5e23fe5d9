"""moto's standalone S3 server, with every request applied whole before the next one starts.

``python -m moto.server`` runs moto's WSGI app on werkzeug's threaded server, and moto's
in-memory S3 backend is not thread-safe: a GET racing a PUT of the same object can fail with
an internal error (the GET reads a buffer the PUT just closed), and the check of a conditional
write and the write itself are separate steps that another thread can run between. Real S3
applies each request atomically, and chaos runs against a fake must judge our code, not the
fake's races; so this launcher serves the very same app behind one lock (connections are still
accepted by threads). It also keeps werkzeug from logging every request and takes moto's list
of its own modules once instead of on every request: both cost the server time that tests and
benchmarks would otherwise spend waiting.

Usage (tests/conftest.py and bench/stores.py start it as a subprocess)::

    python tests/moto_server.py --host 127.0.0.1 --port 5000

Environment variables moto reads still apply, e.g. ``INITIAL_NO_AUTH_ACTION_COUNT=0`` to make
it check credentials.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto import backends
from moto.moto_server.werkzeug_app import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import WSGIRequestHandler, run_simple

try:  # moto >= 5.2.x keeps S3 metadata headers with underscores through its own handler
    from moto.moto_server.werkzeug_app import MotoRequestHandler as BaseHandler
except ImportError:  # pragma: no cover - older moto
    BaseHandler = WSGIRequestHandler  # type: ignore[assignment,misc]


class QuietHandler(BaseHandler):  # type: ignore[misc,valid-type]
    """moto's request handler without a log line per request (it costs the server CPU that a
    benchmark would otherwise measure)."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return None


def serialised(app: Callable[..., Iterable[bytes]]) -> Callable[..., list[bytes]]:
    """``app`` behind one lock; the body is read inside it, since moto produces it lazily from
    the stored object."""
    lock = threading.Lock()

    def serve(environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
        with lock:
            response = app(environ, start_response)
            try:
                return [b"".join(response)]
            finally:
                close = getattr(response, "close", None)
                if close is not None:
                    close()

    return serve


def list_modules_once() -> None:
    """moto routes each request by listing its own package directory (hundreds of ``stat``
    calls, a third of a request's time); the listing cannot change while it runs, so take it
    once."""
    modules = tuple(backends.list_of_moto_modules())
    backends.list_of_moto_modules = lambda: modules


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    list_modules_once()
    app = serialised(DomainDispatcherApplication(create_backend_app))
    run_simple(args.host, args.port, app, threaded=True, request_handler=QuietHandler)


if __name__ == "__main__":
    main()
