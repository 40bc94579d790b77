"""Other web sites for the browser tests: a partner's, or an attacker's."""

import threading

from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response


class OtherSite:
    """A site on another origin than the app's: http://localhost:PORT, while the app runs at
    http://127.0.0.1:PORT (another site, as on the internet, yet on this machine, so that
    Chromium lets its pages frame and post to the app). Every path answers `html`, except
    those the test puts in `files` (path: (body, mimetype))."""

    def __init__(self):
        self.html = ""
        self.files = {}
        self.server = make_server("127.0.0.1", 0, self.wsgi, threaded=True)
        self.url = f"http://localhost:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def wsgi(self, environ, start_response):
        body, mimetype = self.files.get(Request(environ).path, (self.html, "text/html"))
        return Response(body, mimetype=mimetype)(environ, start_response)

    def stop(self):
        self.server.shutdown()
        self.thread.join()
