#!/usr/bin/env python3
"""hamux from Python through ctypes, as a host in another language would use the C ABI.

A listener whose request callback (a Python function on hamux's handler threads) stores
each lease in a dict and answers it -- most at once, some later from another Python
thread in reverse order -- and a client that sends it lease4-update commands from several
Python threads: raw JSON with hamux_client_send and typed leases (a ctypes.Structure
mirroring `hamux_lease4`) with hamux_lease4_update, over hamux:// and http://. Every
response callback must arrive exactly once, with HAMUX_OK, its own txid and the reply
for its own lease, and the stored leases must be exactly what was sent.

Standard library only. The library to load is $HAMUX_LIB (tests/python.rs passes the
libhamux.so of its cargo test run), e.g.:

    HAMUX_LIB=target/release/libhamux.so python3 tests/python/test_ctypes.py
"""

import ctypes
import json
import os
import queue
import socket
import sys
import threading
import time
import unittest
from ctypes import POINTER, byref, c_bool, c_char_p, c_int, c_int64, c_size_t, c_uint16, c_uint32, c_uint64
from ctypes import c_void_p

N_LEASES = int(os.environ.get("HAMUX_PY_LEASES", "1000"))
SENDER_THREADS = 4
WAIT_SECONDS = 60.0

# enum hamux_status (a C enum: int).
HAMUX_OK = 0
HAMUX_E_INVALID = 1
HAMUX_E_CONFIG = 2
HAMUX_E_BUSY = 3
HAMUX_E_CONNECT = 6
HAMUX_E_INTERNAL = 10

# typedef void (*hamux_response_cb)(void *user_data, uint64_t txid, enum hamux_status status,
#                                   const uint8_t *body, size_t body_len);
RESPONSE_CB = ctypes.CFUNCTYPE(None, c_void_p, c_uint64, c_int, c_void_p, c_size_t)
# typedef void (*hamux_request_cb)(void *user_data, struct hamux_request *request,
#                                  const uint8_t *body, size_t body_len);
REQUEST_CB = ctypes.CFUNCTYPE(None, c_void_p, c_void_p, c_void_p, c_size_t)


class Lease4(ctypes.Structure):
    """struct hamux_lease4, field for field."""

    _fields_ = [
        ("ip_address", c_char_p),
        ("hw_address", c_char_p),
        ("client_id", c_char_p),
        ("subnet_id", c_uint32),
        ("valid_lft", c_uint32),
        ("expire", c_int64),
        ("hostname", c_char_p),
        ("fqdn_fwd", c_bool),
        ("fqdn_rev", c_bool),
        ("state", c_uint32),
        ("user_context", c_char_p),
    ]


def load(path):
    """libhamux with the prototypes of include/hamux.h this test uses. CDLL releases the
    GIL during every call, so hamux's threads can run the Python callbacks meanwhile."""
    lib = ctypes.CDLL(path)

    def proto(name, restype, *argtypes):
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, list(argtypes)

    handle = c_void_p  # hamux_client *, hamux_listener *, hamux_request * (opaque)
    proto("hamux_version", c_char_p)
    proto("hamux_status_name", c_char_p, c_int)
    proto("hamux_last_error", c_char_p)
    # Strings hamux allocates stay c_void_p so they can be handed back to hamux_string_free.
    proto("hamux_string_free", None, c_void_p)
    proto("hamux_client_new", c_int, c_char_p, POINTER(handle))
    proto("hamux_client_send", c_int, handle, c_char_p, c_char_p, c_size_t, RESPONSE_CB, c_void_p,
          POINTER(c_uint64))
    proto("hamux_lease4_update", c_int, handle, c_char_p, POINTER(Lease4), RESPONSE_CB, c_void_p,
          POINTER(c_uint64))
    proto("hamux_client_stats", c_void_p, handle)
    proto("hamux_client_free", None, handle)
    proto("hamux_reply_result", c_int, c_void_p, c_size_t, POINTER(c_int64), POINTER(c_void_p))
    proto("hamux_listener_new", c_int, c_char_p, REQUEST_CB, c_void_p, POINTER(handle))
    proto("hamux_listener_port", c_uint16, handle)
    proto("hamux_listener_stats", c_void_p, handle)
    proto("hamux_listener_free", None, handle)
    proto("hamux_request_respond", c_int, handle, c_char_p, c_size_t)
    proto("hamux_request_respond_error", c_int, handle, c_int, c_char_p)
    proto("hamux_request_txid", c_uint64, handle)
    return lib


LIB_PATH = os.environ.get("HAMUX_LIB")
if not LIB_PATH:
    sys.exit("set HAMUX_LIB to the path of libhamux.so (tests/python.rs does)")
lib = load(LIB_PATH)


def status_name(status):
    return lib.hamux_status_name(status).decode()


def take_string(ptr):
    """A string hamux allocated, as str; freed with hamux_string_free."""
    if not ptr:
        return None
    try:
        return ctypes.string_at(ptr).decode()
    finally:
        lib.hamux_string_free(ptr)


def reply_result(body, body_len):
    """hamux_reply_result: (status, Kea's result, Kea's text)."""
    result, text = c_int64(-1), c_void_p()
    status = lib.hamux_reply_result(body, body_len, byref(result), byref(text))
    return status, result.value, take_string(text.value)


def stats(fn, handle):
    return json.loads(take_string(fn(handle)))


def lease_for(i):
    """The i-th lease: every field of hamux_lease4 varies, absent ones included."""
    return {
        "ip_address": f"10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}",
        "hw_address": f"1a:1b:1c:1d:{i // 256 % 256:02x}:{i % 256:02x}",
        "client_id": f"01:02:03:{i % 256:02x}" if i % 2 else None,
        "subnet_id": 1 + i % 7,
        "valid_lft": 3600 + i,
        "expire": 1_800_000_000 + i if i % 5 else 0,
        "hostname": [None, f"host-{i}.example.org", "", f"h{i}"][i % 4],
        "fqdn_fwd": i % 2 == 0,
        "fqdn_rev": i % 3 == 0,
        "state": i % 3,
        "user_context": json.dumps({"index": i, "note": "from python"}) if i % 6 else None,
    }


def to_struct(lease):
    return Lease4(**{k: v.encode() if isinstance(v, str) else v for k, v in lease.items()})


def command_for(lease):
    """The lease4-update Kea's HA (and hamux_lease4_update) sends for `lease`."""
    args = {"ip-address": lease["ip_address"]}
    for field, key in [("hw_address", "hw-address"), ("client_id", "client-id")]:
        if lease[field]:
            args[key] = lease[field]
    args["subnet-id"], args["valid-lft"] = lease["subnet_id"], lease["valid_lft"]
    if lease["expire"]:
        args["expire"] = lease["expire"]
    if lease["hostname"]:
        args["hostname"] = lease["hostname"]
    args["fqdn-fwd"], args["fqdn-rev"], args["state"] = lease["fqdn_fwd"], lease["fqdn_rev"], lease["state"]
    if lease["user_context"]:
        args["user-context"] = json.loads(lease["user_context"])
    args["force-create"], args["origin"] = True, "ha-partner"
    return {"command": "lease4-update", "service": ["dhcp4"], "arguments": args}


def answer_text(ip, txid):
    return f"IPv4 lease {ip} updated (request {txid})."


class Peer:
    """The listener side: leases stored in a dict, answered at once or deferred."""

    def __init__(self):
        self.lock = threading.Lock()
        self.leases = {}  # ip -> the command received
        self.txids = {}  # ip -> hamux_request_txid
        self.errors = []
        self.deferred = queue.Queue()
        # Referenced for as long as hamux may call it (until the listener is freed).
        self.callback = REQUEST_CB(self.on_request)
        self.responder = threading.Thread(target=self.answer_deferred, name="deferred-answers")
        self.responder.start()
        self.handle = c_void_p()
        status = lib.hamux_listener_new(b'{"port": 0, "handler-threads": 4}', self.callback, None,
                                        byref(self.handle))
        if status != HAMUX_OK:
            self.deferred.put(None)
            raise AssertionError(f"hamux_listener_new: {status_name(status)} {lib.hamux_last_error()}")
        self.port = lib.hamux_listener_port(self.handle)

    def on_request(self, _user_data, request, body, body_len):
        """On a hamux handler thread. Must answer `request` exactly once, whatever happens."""
        try:
            command = json.loads(ctypes.string_at(body, body_len))
            ip = command["arguments"]["ip-address"]
            txid = lib.hamux_request_txid(request)
            with self.lock:
                if ip in self.leases:
                    self.errors.append(f"lease {ip} delivered twice")
                self.leases[ip], self.txids[ip] = command, txid
            answer = json.dumps([{"result": 0, "text": answer_text(ip, txid)}]).encode()
        except Exception as e:  # recorded, and the peer gets an error rather than a hang
            with self.lock:
                self.errors.append(f"request callback: {e!r}")
            lib.hamux_request_respond_error(request, HAMUX_E_INTERNAL, repr(e).encode())
            return
        if txid % 5 == 0:
            self.deferred.put((request, answer))  # answered later, from another thread
        else:
            self.respond(request, answer)

    def respond(self, request, answer):
        status = lib.hamux_request_respond(request, answer, len(answer))
        if status != HAMUX_OK:
            with self.lock:
                self.errors.append(f"hamux_request_respond: {status_name(status)}")

    def answer_deferred(self):
        """Answers deferred requests in batches, newest first: any thread, any order."""
        done = False
        while not done:
            batch = [self.deferred.get()]
            time.sleep(0.002)
            while not self.deferred.empty():
                batch.append(self.deferred.get())
            done = None in batch
            for item in reversed([b for b in batch if b is not None]):
                self.respond(*item)

    def free(self):
        lib.hamux_listener_free(self.handle)
        self.deferred.put(None)
        self.responder.join()


class Replies:
    """The client side's response callback: everything it is called with, per request."""

    def __init__(self):
        self.cond = threading.Condition()
        self.calls = {}  # request index -> [(txid, status, body, (status, result, text))]
        self.count = 0
        self.errors = []
        # One callback object for all requests (user_data tells them apart), referenced
        # until the client is freed.
        self.callback = RESPONSE_CB(self.on_response)

    def on_response(self, user_data, txid, status, body, body_len):
        """On a hamux IO thread; must not block."""
        try:
            data = ctypes.string_at(body, body_len) if body_len else b""
            parsed = reply_result(body, body_len) if status == HAMUX_OK else None
            with self.cond:
                self.calls.setdefault(user_data - 1, []).append((txid, status, data, parsed))
                self.count += 1
                self.cond.notify_all()
        except Exception as e:
            with self.cond:
                self.errors.append(f"response callback: {e!r}")
                self.cond.notify_all()

    def wait_for(self, count, seconds):
        with self.cond:
            return self.cond.wait_for(lambda: self.count >= count or self.errors, timeout=seconds)


def new_client(config=b"{}"):
    handle = c_void_p()
    status = lib.hamux_client_new(config, byref(handle))
    if status != HAMUX_OK:
        raise AssertionError(f"hamux_client_new: {status_name(status)} {lib.hamux_last_error()}")
    return handle


class HamuxCtypesTest(unittest.TestCase):
    def test_version(self):
        self.assertRegex(lib.hamux_version().decode(), r"^\d+\.\d+\.\d+")
        self.assertEqual(status_name(HAMUX_E_CONNECT), "HAMUX_E_CONNECT")

    def test_lease_updates_round_trip(self):
        peer, replies = Peer(), Replies()
        client = new_client(b'{"connections-per-peer": 2, "request-timeout-ms": 30000}')
        urls = [f"hamux://127.0.0.1:{peer.port}", f"http://127.0.0.1:{peer.port}/"]
        leases = [lease_for(i) for i in range(N_LEASES)]
        # Every third lease goes through the typed helper, the rest as raw JSON; every
        # fourth over HTTP/1.1, the rest over hamux://.
        typed = [i % 3 == 0 for i in range(N_LEASES)]
        url_of = [urls[1] if i % 4 == 3 else urls[0] for i in range(N_LEASES)]
        expected = []
        for i, lease in enumerate(leases):
            command = command_for(lease)
            if not typed[i]:  # raw commands: what a host would write itself
                command = {"command": "lease4-update", "service": ["dhcp4"],
                           "arguments": {"ip-address": lease["ip_address"], "hw-address": lease["hw_address"],
                                         "subnet-id": lease["subnet_id"], "valid-lft": lease["valid_lft"],
                                         "hostname": f"raw-{i}", "origin": "ha-partner"}}
            expected.append(command)
        sent_txids = [None] * N_LEASES
        send_errors = []

        def send(i, txid):
            if typed[i]:
                lease = to_struct(leases[i])
                return lib.hamux_lease4_update(client, url_of[i].encode(), byref(lease), replies.callback,
                                               c_void_p(i + 1), byref(txid))
            body = json.dumps(expected[i]).encode()
            return lib.hamux_client_send(client, url_of[i].encode(), body, len(body), replies.callback,
                                         c_void_p(i + 1), byref(txid))

        def sender(indices):
            for i in indices:
                txid = c_uint64(0)
                status = send(i, txid)
                while status == HAMUX_E_BUSY:  # max-in-flight reached: nothing queued, retry
                    time.sleep(0.001)
                    status = send(i, txid)
                if status != HAMUX_OK:
                    send_errors.append(f"send {i}: {status_name(status)} {lib.hamux_last_error()}")
                sent_txids[i] = txid.value

        started = time.monotonic()
        try:
            threads = [threading.Thread(target=sender, args=(range(t, N_LEASES, SENDER_THREADS),))
                       for t in range(SENDER_THREADS)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            self.assertEqual(send_errors, [])
            arrived = replies.wait_for(N_LEASES, WAIT_SECONDS)
            elapsed = time.monotonic() - started
            self.assertEqual(replies.errors + peer.errors, [])
            self.assertTrue(arrived, f"{replies.count} of {N_LEASES} callbacks within {WAIT_SECONDS} s")

            client_stats = stats(lib.hamux_client_stats, client)
            listener_stats = stats(lib.hamux_listener_stats, peer.handle)
            self.assertEqual(client_stats["in-flight"], 0)
            self.assertEqual(sorted(p["url"].rstrip("/") for p in client_stats["peers"]),
                             sorted(u.rstrip("/") for u in urls))
            self.assertEqual(sum(p["sent"] for p in client_stats["peers"]), N_LEASES)
            self.assertEqual(sum(p["completed"].get("ok", 0) for p in client_stats["peers"]), N_LEASES)
            self.assertEqual(sum(sum(p["completed"].values()) for p in client_stats["peers"]), N_LEASES)
            self.assertEqual((listener_stats["requests"], listener_stats["responses"]), (N_LEASES, N_LEASES))
            self.assertEqual(listener_stats["error-responses"], 0)
            time.sleep(0.2)  # room for a wrong second callback before counting
        finally:
            lib.hamux_client_free(client)  # no callback runs after this returns
            peer.free()

        self.assertEqual(replies.errors + peer.errors, [])
        self.assertEqual(replies.count, N_LEASES, "callbacks in all, after the client was freed")
        self.assertEqual(len(set(sent_txids)), N_LEASES, "transaction ids are unique")
        for i, lease in enumerate(leases):
            ip = lease["ip_address"]
            calls = replies.calls.get(i, [])
            self.assertEqual(len(calls), 1, f"request {i}: {len(calls)} callbacks")
            txid, status, body, parsed = calls[0]
            self.assertEqual(status_name(status), "HAMUX_OK", f"request {i}: {body!r}")
            self.assertEqual(txid, sent_txids[i], f"request {i}: callback txid")
            peer_txid = peer.txids[ip]
            if url_of[i].startswith("hamux://"):
                self.assertEqual(peer_txid, txid, f"request {i}: the frame carries the client's txid")
            self.assertEqual(json.loads(body), [{"result": 0, "text": answer_text(ip, peer_txid)}])
            self.assertEqual(parsed, (HAMUX_OK, 0, answer_text(ip, peer_txid)), f"request {i}")
        self.assertEqual(peer.leases, {lease["ip_address"]: expected[i] for i, lease in enumerate(leases)})
        print(f"{N_LEASES} lease4-update round trips ({sum(typed)} typed, {url_of.count(urls[1])} over http://) "
              f"in {elapsed:.2f} s", file=sys.stderr)

    def test_errors_reach_python(self):
        # Refused configuration, with the key named.
        handle = c_void_p()
        self.assertEqual(lib.hamux_client_new(b'{"no-such-key": 1}', byref(handle)), HAMUX_E_CONFIG)
        self.assertIn("no-such-key", lib.hamux_last_error().decode())
        self.assertEqual(reply_result(b"not json", 8)[0], HAMUX_E_INVALID)

        replies = Replies()
        with socket.socket() as s:  # a port nothing listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        client = new_client(b'{"connect-timeout-ms": 2000, "request-timeout-ms": 5000}')
        try:
            url = f"hamux://127.0.0.1:{port}".encode()
            bad = b"[1, 2]"  # not a JSON object: refused, no callback
            self.assertEqual(lib.hamux_client_send(client, url, bad, len(bad), replies.callback, c_void_p(1),
                                                   None), HAMUX_E_INVALID)
            body = b'{"command": "ha-heartbeat"}'
            self.assertEqual(lib.hamux_client_send(client, url, body, len(body), replies.callback, c_void_p(2),
                                                   None), HAMUX_OK)
            self.assertTrue(replies.wait_for(1, 10.0), "the failed request's callback")
        finally:
            lib.hamux_client_free(client)
        self.assertEqual(replies.errors, [])
        self.assertEqual(list(replies.calls), [1])
        [(_, status, description, _)] = replies.calls[1]
        self.assertEqual(status_name(status), "HAMUX_E_CONNECT", description)
        self.assertTrue(description, "a failure comes with a description")


if __name__ == "__main__":
    unittest.main(verbosity=2)
