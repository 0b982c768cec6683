#!/usr/bin/python3
"""hubproxy: Docker Hub's pull flows on loopback, in front of a real registry.

  hub listener (--host, default 127.0.0.1):
    GET  /token?service=S&scope=repository:NAME:pull   -> anonymous Bearer token (JSON)
    GET|HEAD /v2/...  without a valid token for the repository's pull scope -> 401 with
         WWW-Authenticate: Bearer realm="http://HOST:PORT/token",service="S"[,scope="..."]
    GET  /v2/NAME/blobs/DIGEST  -> 307 to the blob listener (another host, like Hub's CDN)
    anything else under /v2/ (manifests, tags, HEAD of blobs) -> proxied to the registry
  blob listener (--blob-host, default 127.0.0.2):
    GET|HEAD /blobs/sha256/HEX?sig=S -> the blob's bytes streamed from the registry; no auth
         needed; a request that carries an Authorization header is logged as LEAK and refused
         with 400, as S3 refuses a presigned URL that also carries credentials.

The repository name "library/X" is forwarded to the registry as "X", so both
/v2/library/nginx/... and /v2/nginx/... work.

Faults, for the client's retries:
  --storm-429 SECONDS  every /v2/ request is answered 429 (no Retry-After) for SECONDS
                       counted from the first one, then the storm clears
  --reset-blobs N      the first N blob GETs on the blob listener stop after half the bytes
                       (the connection is closed mid-body, as a reset)
  --schema1-tag TAG    GET|HEAD /v2/NAME/manifests/TAG answer a Docker schema 1 manifest
  --stall-blob DIGEST  a blob listener GET of DIGEST sends half the bytes, then stalls (the
                       connection stays open and silent for 120 s)
  --user U:P           the token endpoint checks Basic credentials against U:P (401 if wrong)
  --refresh-token T    POST /token with grant_type=refresh_token&refresh_token=T gives a token
  --private NAME       only tokens issued to U:P or T may pull NAME (repeatable)
  --ratelimit N        manifest answers carry Docker Hub's ratelimit-limit: 100;w=21600 and
                       ratelimit-remaining: N;w=21600

Log (--log): one line per request:
  TIME LISTENER METHOD TARGET status=NNN auth=none|bearer|bearer-invalid|basic|other [range=R] [LEAK]
Ready file (--ready-file): "PORT BLOBPORT\n", written once both listeners accept.
Stops on SIGTERM/SIGINT, or by itself after --lifetime seconds.
Python standard library only; run it with Debian's /usr/bin/python3.
"""

import argparse
import base64
import datetime
import http.client
import http.server
import json
import os
import re
import secrets
import signal
import socket
import time
import socketserver
import sys
import threading
import time
import urllib.parse

CHUNK = 64 * 1024
REPO_RE = re.compile(r"^/v2/(?P<name>[a-z0-9]+(?:[._/-][a-z0-9]+)*)/(?P<kind>manifests|blobs|tags)(?P<rest>/.*)?$")
DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
# headers relayed from the registry to the client
RELAY = ("Content-Type", "Content-Length", "Docker-Content-Digest", "Docker-Distribution-Api-Version",
         "Etag", "Content-Range", "Accept-Ranges", "Link", "Last-Modified")


class State:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.tokens = {}  # token -> (frozenset of scopes, expiry)
        self.sigs = {}  # sig -> (upstream repo, digest, expiry)
        self.logf = open(args.log, "a", buffering=1) if args.log else sys.stderr
        self.hub_port = 0
        self.blob_port = 0
        self.storm_start = None
        self.resets_left = args.reset_blobs

    def in_storm(self):
        """True while the 429 storm lasts (it starts with the first request)."""
        if not self.args.storm_429:
            return False
        with self.lock:
            if self.storm_start is None:
                self.storm_start = time.monotonic()
            return time.monotonic() - self.storm_start < self.args.storm_429

    def take_reset(self):
        with self.lock:
            if self.resets_left <= 0:
                return False
            self.resets_left -= 1
            return True

    def log(self, listener, method, target, status, auth, leak=False, range_=None):
        ts = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        line = "%s %s %s %s status=%d auth=%s%s%s\n" % (ts, listener, method, target, status, auth,
                                                       " range=" + range_ if range_ else "",
                                                       " LEAK" if leak else "")
        with self.lock:
            self.logf.write(line)
            self.logf.flush()

    def issue_token(self, scopes):
        token = secrets.token_urlsafe(32)
        now = time.time()
        with self.lock:
            # drop expired entries so the tables stay bounded
            for t in [t for t, (_, exp) in self.tokens.items() if exp < now]:
                del self.tokens[t]
            self.tokens[token] = (frozenset(scopes), now + self.args.token_ttl)
        return token

    def token_scopes(self, token):
        with self.lock:
            entry = self.tokens.get(token)
        if entry is None or entry[1] < time.time():
            return None
        return entry[0]

    def sign(self, repo, digest):
        sig = secrets.token_urlsafe(24)
        now = time.time()
        with self.lock:
            for s in [s for s, (_, _, exp) in self.sigs.items() if exp < now]:
                del self.sigs[s]
            self.sigs[sig] = (repo, digest, now + self.args.sig_ttl)
        return sig

    def check_sig(self, sig, digest):
        with self.lock:
            entry = self.sigs.get(sig)
        if entry is None or entry[2] < time.time() or entry[1] != digest:
            return None
        return entry[0]


def auth_kind(header):
    if not header:
        return "none"
    scheme = header.split(" ", 1)[0].lower()
    return scheme if scheme in ("bearer", "basic") else "other"


def upstream_name(name):
    return name[len("library/"):] if name.startswith("library/") else name


def pull_allowed(scopes, name):
    for s in scopes:
        parts = s.split(":")
        if len(parts) >= 3 and parts[0] == "repository" and ":".join(parts[1:-1]) == name \
                and "pull" in parts[-1].split(","):
            return True
    return False


class Base(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "hubproxy/1"
    timeout = 60
    listener = "?"
    state = None  # set on the subclass

    def log_message(self, fmt, *args):  # silence http.server's stderr log
        pass

    def reply(self, status, body=b"", headers=(), auth="none", leak=False):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.state.log(self.listener, self.command, self.path, status, auth, leak,
                       self.headers.get("Range"))

    def upstream(self, method, path, headers):
        conn = http.client.HTTPConnection(self.state.args.registry, timeout=60)
        conn.request(method, path, headers=headers)
        return conn, conn.getresponse()

    def relay(self, method, path, auth, extra_headers=()):
        """Forward to the registry, stream the answer back."""
        headers = {"User-Agent": "hubproxy/1"}
        accept = self.headers.get_all("Accept") or []
        if accept:
            headers["Accept"] = ", ".join(accept)
        if self.headers.get("Range"):
            headers["Range"] = self.headers["Range"]
        try:
            conn, resp = self.upstream(method, path, headers)
        except OSError as e:
            self.reply(502, json.dumps({"errors": [{"code": "UNAVAILABLE", "message": str(e)}]}),
                       [("Content-Type", "application/json")], auth)
            return
        reset = False
        try:
            self.send_response(resp.status)
            for k in RELAY:
                v = resp.getheader(k)
                if v is not None:
                    self.send_header(k, v)
            for k, v in extra_headers:
                self.send_header(k, v)
            if self.state.args.ratelimit is not None and "/manifests/" in path:
                self.send_header("RateLimit-Limit", "100;w=21600")
                self.send_header("RateLimit-Remaining", "%d;w=21600" % self.state.args.ratelimit)
            if resp.getheader("Content-Length") is None:
                # HTTP/1.1 keep-alive needs a length: close instead
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if method != "HEAD":
                rate = self.state.args.cdn_rate if self.listener == "cdn" else 0
                length = int(resp.getheader("Content-Length") or 0)
                cut = length // 2 if self.listener == "cdn" and length > 1 and self.state.take_reset() else -1
                stall = self.listener == "cdn" and self.state.args.stall_blob and \
                    path.endswith("/" + self.state.args.stall_blob) and length > 1
                if stall:
                    cut = length // 2
                sent = 0
                while True:
                    chunk = resp.read(CHUNK)
                    if not chunk:
                        break
                    if cut >= 0 and sent + len(chunk) >= cut:
                        self.wfile.write(chunk[:cut - sent])
                        self.wfile.flush()
                        if stall:
                            time.sleep(120)
                        # a reset: the connection ends with the body half sent
                        self.close_connection = True
                        self.connection.shutdown(socket.SHUT_RDWR)
                        reset = True
                        return
                    sent += len(chunk)
                    self.wfile.write(chunk)
                    if rate:
                        time.sleep(len(chunk) / rate)  # a slow CDN, for interrupted pulls
        finally:
            conn.close()
            self.state.log(self.listener, self.command, self.path, resp.status, auth,
                           self.listener == "cdn" and auth != "none",
                           (self.headers.get("Range") or "") + (" RESET" if reset else ""))


class HubHandler(Base):
    listener = "hub"

    def challenge(self, scope, auth):
        a = self.state.args
        value = 'Bearer realm="http://%s:%d/token",service="%s"' % (a.host, self.state.hub_port, a.service)
        if scope:
            value += ',scope="%s"' % scope
        body = {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required",
                            "detail": [{"Type": "repository", "Name": scope.split(":")[1], "Action": "pull"}]
                            if scope else None}]}
        self.reply(401, json.dumps(body) + "\n",
                   [("WWW-Authenticate", value), ("Content-Type", "application/json"),
                    ("Docker-Distribution-Api-Version", "registry/2.0")], auth)

    def do_token(self, auth):
        q = urllib.parse.parse_qs(urllib.parse.urlsplit(self.path).query)
        if self.command == "POST":
            # OAuth2 (docker's identity tokens): a form with grant_type=refresh_token
            length = int(self.headers.get("Content-Length") or 0)
            q = urllib.parse.parse_qs(self.rfile.read(min(length, 65536)).decode("utf-8", "replace"))
        service = q.get("service", [""])[0]
        if service != self.state.args.service:
            self.reply(400, json.dumps({"details": "invalid service %r" % service}),
                       [("Content-Type", "application/json")], auth)
            return
        a = self.state.args
        authenticated = False
        if self.command == "POST":
            if q.get("grant_type", [""])[0] != "refresh_token" or not a.refresh_token or \
                    q.get("refresh_token", [""])[0] != a.refresh_token:
                return self.reply(401, json.dumps({"error": "invalid_grant"}),
                                  [("Content-Type", "application/json")], auth)
            authenticated = True
        elif auth == "basic":
            try:
                given = base64.b64decode(self.headers["Authorization"].split(" ", 1)[1]).decode()
            except (ValueError, UnicodeDecodeError):
                given = None
            if not a.user or given != a.user:
                return self.reply(401, json.dumps({"details": "incorrect username or password"}),
                                  [("Content-Type", "application/json")], auth)
            authenticated = True
        scopes = [s for v in q.get("scope", []) for s in v.split(" ") if s]
        if not authenticated:
            # like Hub: an anonymous token carries no access to a private repository
            scopes = [s for s in scopes if len(s.split(":")) < 3 or s.split(":")[1] not in a.private]
        token = self.state.issue_token(scopes)
        issued = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        body = json.dumps({"token": token, "access_token": token,
                           "expires_in": int(self.state.args.token_ttl), "issued_at": issued})
        self.reply(200, body, [("Content-Type", "application/json")], auth)

    def handle_any(self):
        header = self.headers.get("Authorization", "")
        auth = auth_kind(header)
        path = urllib.parse.urlsplit(self.path).path
        if path == "/token":
            if self.command not in ("GET", "POST"):
                return self.reply(405, "", [], auth)
            return self.do_token(auth)
        if not (path == "/v2" or path.startswith("/v2/")):
            return self.reply(404, "404 page not found\n", [("Content-Type", "text/plain")], auth)
        if self.state.in_storm():
            return self.reply(429, json.dumps({"errors": [{"code": "TOOMANYREQUESTS",
                                                           "message": "You have reached your pull rate limit."}]}),
                              [("Content-Type", "application/json")], auth)

        m = REPO_RE.match(path)
        name = m.group("name") if m else None
        scope = "repository:%s:pull" % name if name else None
        scopes = None
        if auth == "bearer":
            scopes = self.state.token_scopes(header.split(" ", 1)[1].strip())
            if scopes is None:
                auth = "bearer-invalid"
        if scopes is None or (name and not pull_allowed(scopes, name)):
            return self.challenge(scope, auth)
        if self.command not in ("GET", "HEAD"):
            return self.reply(405, json.dumps({"errors": [{"code": "UNSUPPORTED",
                                                           "message": "read-only mirror"}]}),
                              [("Content-Type", "application/json")], auth)
        if path in ("/v2", "/v2/"):
            return self.reply(200, "{}", [("Content-Type", "application/json"),
                                          ("Docker-Distribution-Api-Version", "registry/2.0")], auth)
        if not m:
            return self.reply(404, json.dumps({"errors": [{"code": "NAME_UNKNOWN",
                                                           "message": "repository name not known"}]}),
                              [("Content-Type", "application/json")], auth)

        if self.state.args.schema1_tag and m.group("kind") == "manifests" and \
                m.group("rest") == "/" + self.state.args.schema1_tag:
            # what an image pushed by docker 1.9 still looks like on some registries
            body = json.dumps({"schemaVersion": 1, "name": name, "tag": self.state.args.schema1_tag,
                               "architecture": "amd64", "fsLayers": [], "history": []})
            return self.reply(200, body, [("Content-Type",
                                           "application/vnd.docker.distribution.manifest.v1+prettyjws")], auth)
        up_path = "/v2/%s/%s%s" % (upstream_name(name), m.group("kind"), m.group("rest") or "")
        query = urllib.parse.urlsplit(self.path).query
        if query:
            up_path += "?" + query
        digest = (m.group("rest") or "").lstrip("/")
        if m.group("kind") == "blobs" and self.command == "GET" and DIGEST_RE.match(digest):
            # like Hub: check the blob exists, then send the client to the CDN host
            try:
                conn, resp = self.upstream("HEAD", up_path, {"User-Agent": "hubproxy/1"})
                resp.read()
                conn.close()
            except OSError as e:
                return self.reply(502, str(e), [("Content-Type", "text/plain")], auth)
            if resp.status != 200:
                return self.relay("GET", up_path, auth)
            sig = self.state.sign(upstream_name(name), digest)
            loc = "http://%s:%d/blobs/sha256/%s?sig=%s" % (self.state.args.blob_host, self.state.blob_port,
                                                          digest.split(":", 1)[1], sig)
            return self.reply(307, "", [("Location", loc), ("Docker-Distribution-Api-Version", "registry/2.0")],
                              auth)
        return self.relay(self.command, up_path, auth)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class CdnHandler(Base):
    listener = "cdn"

    def handle_any(self):
        header = self.headers.get("Authorization", "")
        auth = auth_kind(header)
        u = urllib.parse.urlsplit(self.path)
        m = re.match(r"^/blobs/sha256/([0-9a-f]{64})$", u.path)
        if self.command not in ("GET", "HEAD") or not m:
            return self.reply(404, "not found\n", [("Content-Type", "text/plain")], auth, auth != "none")
        if auth != "none":
            # the client forwarded its registry credentials to another host
            return self.reply(400, "InvalidArgument: only one auth mechanism allowed\n",
                              [("Content-Type", "text/plain")], auth, True)
        digest = "sha256:" + m.group(1)
        sig = urllib.parse.parse_qs(u.query).get("sig", [""])[0]
        repo = self.state.check_sig(sig, digest)
        if repo is None:
            return self.reply(403, "AccessDenied: bad or expired signature\n",
                              [("Content-Type", "text/plain")], auth)
        return self.relay(self.command, "/v2/%s/blobs/%s" % (repo, digest), auth)

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = handle_any


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--registry", required=True, help="upstream registry HOST:PORT (plain HTTP)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--blob-host", default="127.0.0.2")
    p.add_argument("--blob-port", type=int, default=0)
    p.add_argument("--service", default="registry.docker.io")
    p.add_argument("--log", help="request log file (default stderr)")
    p.add_argument("--ready-file", help='write "PORT BLOBPORT" here once listening')
    p.add_argument("--token-ttl", type=float, default=300)
    p.add_argument("--sig-ttl", type=float, default=600)
    p.add_argument("--lifetime", type=float, default=3600, help="exit after this many seconds")
    p.add_argument("--cdn-rate", type=float, default=0, help="serve blobs at most this many bytes/s")
    p.add_argument("--storm-429", type=float, default=0, help="answer 429 for this many seconds")
    p.add_argument("--reset-blobs", type=int, default=0, help="cut the first N blob GETs midway")
    p.add_argument("--ratelimit", type=int, help="ratelimit-remaining to announce")
    p.add_argument("--schema1-tag", help="serve a schema 1 manifest for this tag")
    p.add_argument("--stall-blob", help="send half of this blob, then stall")
    p.add_argument("--user", help="USER:PASSWORD the token endpoint accepts (Basic)")
    p.add_argument("--refresh-token", help="the OAuth2 refresh token the token endpoint accepts (POST)")
    p.add_argument("--private", action="append", default=[],
                   help="a repository only authenticated tokens may pull (repeatable)")
    args = p.parse_args()

    state = State(args)
    HubHandler.state = CdnHandler.state = state
    hub = Server((args.host, args.port), HubHandler)
    cdn = Server((args.blob_host, args.blob_port), CdnHandler)
    state.hub_port = hub.server_address[1]
    state.blob_port = cdn.server_address[1]

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threads = [threading.Thread(target=s.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
               for s in (hub, cdn)]
    for t in threads:
        t.start()
    if args.ready_file:
        tmp = args.ready_file + ".tmp"
        with open(tmp, "w") as f:
            f.write("%d %d\n" % (state.hub_port, state.blob_port))
        os.rename(tmp, args.ready_file)
    stop.wait(args.lifetime)
    for s in (hub, cdn):
        s.shutdown()
        s.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
