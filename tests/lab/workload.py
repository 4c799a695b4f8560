"""The lab's Python workloads (standard library plus grpcio).

usage: workload.py ROLE GENERATED_DIR [ARGS]
  frontend        loop: HTTP/1.1 + HTTP/2 to web, gRPC to catalog, HTTP to cart,
                  NXDOMAIN lookups; names resolved by the cluster DNS
  cart PORT       HTTP server keeping carts in Redis (some calls slow, some fail)
  recommendation  loop: gRPC streams from catalog, Redis reads and writes
  wait HOST:PORT… wait until each TCP port accepts (UDP 53: a DNS answer)
  scripted N WEB CATALOG DNS REDIS
                  exactly N calls per protocol to the given ClusterIPs; prints
                  the counts the clients observed as one JSON line
"""
import http.client
import json
import random
import socket
import struct
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

GEN = sys.argv[2] if len(sys.argv) > 2 else "."
sys.path.insert(0, GEN)

DOMAIN = "svc.cluster.local"
WEB = "web.shop." + DOMAIN
CATALOG = "catalog.shop." + DOMAIN
CART = "cart.shop." + DOMAIN
REDIS = "redis.data." + DOMAIN


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


# ---------------------------------------------------------------- Redis (RESP)
class RedisError(Exception):
    pass


class Redis:
    def __init__(self, host, port=6379):
        self.sock = socket.create_connection((host, port), timeout=5)
        self.buf = b""

    def close(self):
        self.sock.close()

    def _fill(self):
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("redis closed the connection")
        self.buf += data

    def _line(self):
        while b"\r\n" not in self.buf:
            self._fill()
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self._fill()
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._reply() for _ in range(n)]
        raise ConnectionError("bad RESP reply %r" % line)

    def cmd(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self._reply()


# ---------------------------------------------------------------- DNS
def dns_query(sock, server, name, qtype, txid):
    """One query over UDP; returns the RCODE, or None on timeout."""
    q = struct.pack(">HHHHHH", txid, 0x0100, 1, 0, 0, 0)
    for label in name.rstrip(".").split("."):
        q += bytes([len(label)]) + label.encode()
    q += b"\x00" + struct.pack(">HH", qtype, 1)
    sock.sendto(q, (server, 53))
    while True:
        try:
            data, _ = sock.recvfrom(4096)
        except socket.timeout:
            return None
        if len(data) >= 12 and struct.unpack(">H", data[:2])[0] == txid:
            return data[3] & 0x0F


# ---------------------------------------------------------------- HTTP/2
def h2_get_many(host, port, paths, concurrency=4, agent="lab/1.0"):
    """GETs every path over ONE cleartext HTTP/2 connection (prior
    knowledge), up to `concurrency` streams at once; returns the statuses
    (0 for a reset stream)."""
    import h2.config
    import h2.connection
    import h2.events
    sock = socket.create_connection((host, port), timeout=10)
    conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
    conn.initiate_connection()
    pending, in_flight, done = list(paths), {}, []
    authority = "%s:%d" % (host, port)
    while True:
        while pending and len(in_flight) < concurrency:
            sid = conn.get_next_available_stream_id()
            conn.send_headers(sid, [(":method", "GET"), (":path", pending.pop(0)), (":scheme", "http"),
                                    (":authority", authority), ("user-agent", agent)], end_stream=True)
            in_flight[sid] = 0
        sock.sendall(conn.data_to_send())
        if not in_flight:
            break
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("server closed the HTTP/2 connection")
        for ev in conn.receive_data(data):
            if isinstance(ev, h2.events.ResponseReceived):
                in_flight[ev.stream_id] = int(dict(ev.headers).get(":status", 0))
            elif isinstance(ev, h2.events.DataReceived):
                conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
            elif isinstance(ev, h2.events.StreamEnded):
                done.append(in_flight.pop(ev.stream_id, 0))
            elif isinstance(ev, h2.events.StreamReset):
                in_flight.pop(ev.stream_id, None)
                done.append(0)
    conn.close_connection()
    sock.sendall(conn.data_to_send())
    sock.close()
    return done


# ---------------------------------------------------------------- gRPC
def catalog_stub(target):
    import grpc
    import catalog_pb2_grpc as pbg
    channel = grpc.insecure_channel(target)
    return channel, pbg.CatalogStub(channel)


# ---------------------------------------------------------------- frontend
def frontend():
    import grpc
    import catalog_pb2 as pb
    rnd = random.Random(7)
    web = cart = None
    channel = stub = None
    paths = ["/", "/api/products.json", "/api/products.json", "/index.html", "/missing/%d",
             "/api/fail", "/api/unavailable", "/api/products.json"]
    i = 0
    while True:
        i += 1
        try:
            if web is None:
                web = http.client.HTTPConnection(WEB, 80, timeout=5)
            p = rnd.choice(paths)
            web.request("GET", p % i if "%d" in p else p, headers={"User-Agent": "frontend/1.0"})
            web.getresponse().read()
            if i % 4 == 0:
                h2_get_many(WEB, 8080, [p % i if "%d" in p else p for p in rnd.sample(paths, 3)],
                            agent="frontend/1.0")
            if i % 20 == 0 and channel is not None:
                # New connections now and then, as real clients make them
                # (and so a probe started later sees HTTP/2 from its start).
                channel.close()
                channel = stub = None
            if stub is None:
                channel, stub = catalog_stub("%s:50051" % CATALOG)
            try:
                if i % 5 == 0:
                    for _ in stub.ListProducts(pb.ListRequest(category="shoes", limit=rnd.randint(1, 6)), timeout=5):
                        pass
                else:
                    stub.GetProduct(pb.ProductRequest(id=rnd.randint(1, 400), user="u%d" % (i % 9)), timeout=5)
            except grpc.RpcError:
                pass
            if cart is None:
                cart = http.client.HTTPConnection(CART, 8080, timeout=5)
            user = "u%d" % rnd.randint(1, 9)
            r = rnd.random()
            if r < 0.5:
                cart.request("GET", "/cart/" + user)
            elif r < 0.85:
                cart.request("POST", "/cart/%s/items" % user, body=json.dumps({"id": i % 50}),
                             headers={"Content-Type": "application/json"})
            elif r < 0.93:
                cart.request("GET", "/slow")
            else:
                cart.request("GET", "/coupons/%s" % user)
            cart.getresponse().read()
            if i % 6 == 0:
                try:
                    socket.gethostbyname("payments.shop." + DOMAIN)
                except OSError:
                    pass
        except Exception as e:  # keep going whatever a server does
            log("frontend:", type(e).__name__, e)
            for c in (web, cart):
                if c is not None:
                    c.close()
            web = cart = None
            if channel is not None:
                channel.close()
            channel = stub = None
            time.sleep(1)
        time.sleep(0.25)


# ---------------------------------------------------------------- cart
_local = threading.local()


def redis_conn():
    if getattr(_local, "redis", None) is None:
        _local.redis = Redis(REDIS)
    return _local.redis


class CartHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "cart/1.0"

    def log_message(self, *args):
        pass

    def reply(self, status, obj):
        body = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def redis(self, *args):
        try:
            return redis_conn().cmd(*args)
        except (OSError, ConnectionError):
            _local.redis = None
            raise

    def do_GET(self):
        parts = self.path.strip("/").split("/")
        try:
            if parts[0] == "cart" and len(parts) == 2:
                items = self.redis("HGETALL", "cart:" + parts[1])
                self.reply(200, {"items": len(items or []) // 2})
            elif parts[0] == "slow":
                time.sleep(1.2)
                self.redis("INCR", "slow-calls")
                self.reply(200, {"slow": True})
            else:
                self.reply(404, {"error": "not found"})
        except RedisError as e:
            self.reply(500, {"error": str(e)})
        except (OSError, ConnectionError) as e:
            self.reply(503, {"error": str(e)})

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        parts = self.path.strip("/").split("/")
        try:
            if parts[0] == "cart" and len(parts) == 3:
                item = json.loads(body or b"{}").get("id", 0)
                key = "cart:" + parts[1]
                if item % 13 == 0:
                    self.redis("LPUSH", key, item)  # WRONGTYPE: the cart is a hash
                self.redis("HINCRBY", key, "item-%d" % item, 1)
                self.redis("EXPIRE", key, 600)
                self.reply(201, {"added": item})
            else:
                self.reply(404, {"error": "not found"})
        except RedisError as e:
            self.reply(500, {"error": str(e)})
        except (OSError, ConnectionError, ValueError) as e:
            self.reply(503, {"error": str(e)})


def cart(port):
    server = ThreadingHTTPServer(("0.0.0.0", int(port)), CartHandler)
    log("cart serving on", port)
    server.serve_forever()


# ---------------------------------------------------------------- recommendation
def recommendation():
    import grpc
    import catalog_pb2 as pb
    rnd = random.Random(11)
    channel = stub = r = None
    i = 0
    while True:
        i += 1
        try:
            if i % 20 == 0 and channel is not None:
                channel.close()
                channel = stub = None
            if stub is None:
                channel, stub = catalog_stub("%s:50051" % CATALOG)
            if r is None:
                r = Redis(REDIS)
            try:
                for p in stub.ListProducts(pb.ListRequest(category="reco", limit=rnd.randint(2, 10)), timeout=5):
                    r.cmd("ZINCRBY", "reco:popular", 1, p.id)
            except grpc.RpcError:
                pass
            user = "u%d" % rnd.randint(1, 9)
            if r.cmd("GET", "reco:" + user) is None:
                r.cmd("SET", "reco:" + user, "p%d" % rnd.randint(1, 99), "EX", 30)
            r.cmd("ZREVRANGE", "reco:popular", 0, 4)
        except Exception as e:
            log("recommendation:", type(e).__name__, e)
            if channel is not None:
                channel.close()
            if r is not None:
                r.close()
            channel = stub = r = None
            time.sleep(1)
        time.sleep(0.7)


# ---------------------------------------------------------------- wait
def wait(targets, secs=30):
    deadline = time.time() + secs
    for t in targets:
        host, port = t.rsplit(":", 1)
        while True:
            try:
                if port == "53":
                    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                    s.settimeout(0.5)
                    ok = dns_query(s, host, "kube-dns.kube-system." + DOMAIN, 1, 1) is not None
                    s.close()
                    if ok:
                        break
                else:
                    socket.create_connection((host, int(port)), timeout=0.5).close()
                    break
            except OSError:
                pass
            if time.time() > deadline:
                print("not ready: " + t, flush=True)
                sys.exit(1)
            time.sleep(0.1)
    print("ready", flush=True)


# ---------------------------------------------------------------- scripted
def bump(d, k):
    d[str(k)] = d.get(str(k), 0) + 1


def scripted(n, web, catalog, dns, redis):
    import grpc
    import catalog_pb2 as pb
    out = {}
    # HTTP/1.1: n requests on one keep-alive connection.
    paths = ["/api/products.json", "/index.html", "/missing/%d", "/api/fail", "/api/unavailable"]
    st = {}
    c = http.client.HTTPConnection(web, 80, timeout=10)
    for i in range(n):
        p = paths[i % len(paths)]
        c.request("GET", p % i if "%d" in p else p, headers={"User-Agent": "tester/1.0"})
        resp = c.getresponse()
        resp.read()
        bump(st, resp.status)
    c.close()
    out["http1"] = {"requests": n, "status": st}
    # HTTP/2 (h2c, prior knowledge): n requests on one connection, 4 streams at a time.
    st = {}
    for code in h2_get_many(web, 8080, [p % i if "%d" in p else p for i, p in
                                        ((i, paths[i % len(paths)]) for i in range(n))], agent="tester/1.0"):
        bump(st, code)
    out["http2"] = {"requests": n, "status": st}
    # gRPC: n unary calls on one channel.
    st = {}
    channel, stub = catalog_stub("%s:50051" % catalog)
    for i in range(n):
        try:
            stub.GetProduct(pb.ProductRequest(id=i + 1, user="tester"), timeout=10)
            bump(st, "OK")
        except grpc.RpcError as e:
            bump(st, e.code().name)
    channel.close()
    out["grpc"] = {"calls": n, "status": st}
    # DNS: n queries over UDP, every fourth for a name that does not exist.
    st = {}
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    for i in range(n):
        name = ("nope-%d.shop." % i + DOMAIN) if i % 4 == 3 else WEB
        rcode = dns_query(s, dns, name, 1, (i + 1) & 0xFFFF)
        bump(st, "timeout" if rcode is None else rcode)
    s.close()
    out["dns"] = {"queries": n, "rcode": st}
    # Redis: n commands on one connection, every fifth fails (WRONGTYPE).
    cmds = [("SET", "qa:k", "v"), ("GET", "qa:k"), ("INCR", "qa:n"), ("HSET", "qa:h", "f", "1"), ("LPUSH", "qa:k", "x")]
    by, errors = {}, 0
    r = Redis(redis)
    for i in range(n):
        cmd = cmds[i % len(cmds)]
        try:
            r.cmd(*cmd)
        except RedisError:
            errors += 1
        bump(by, cmd[0])
    r.close()
    out["redis"] = {"commands": n, "by_command": by, "errors": errors}
    print(json.dumps(out), flush=True)


def main():
    role = sys.argv[1] if len(sys.argv) > 1 else ""
    if role == "frontend":
        frontend()
    elif role == "cart":
        cart(sys.argv[3])
    elif role == "recommendation":
        recommendation()
    elif role == "wait":
        wait(sys.argv[3:])
    elif role == "scripted":
        scripted(int(sys.argv[3]), *sys.argv[4:8])
    else:
        print(__doc__, file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
