"""A read-only Neutron stand-in for one site (not OpenStack).

nova-api asks Neutron for ports and security groups on every server GET; with
no network service it answers 500. Servers here boot with networks "none", so
every GET /v2.0/<resource> answering an empty list is all Nova needs.
Usage: neutron_stub.py PORT   (binds 127.0.0.1 only)
"""
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

PORT = int(sys.argv[1])


class Handler(BaseHTTPRequestHandler):
    def _send(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        path = self.path.split('?')[0].rstrip('/')
        if path == '':
            return self._send(200, {'versions': [{'id': 'v2.0', 'status': 'CURRENT', 'links': [
                {'rel': 'self', 'href': 'http://127.0.0.1:%d/v2.0/' % PORT}]}]})
        m = re.match(r'^/v2\.0/([a-z_-]+?)(\.json)?$', path)
        if m:
            return self._send(200, {m.group(1).replace('-', '_'): []})
        return self._send(404, {'NeutronError': {'type': 'NotFound', 'message': path, 'detail': ''}})

    def log_message(self, *args):
        pass


ThreadingHTTPServer(('127.0.0.1', PORT), Handler).serve_forever()
