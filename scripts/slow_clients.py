#!/usr/bin/env python3
"""Slow clients at full scale, against the release binary with its default settings.

All at once: 1000 connections that send a request head one byte every few seconds
(slowloris) and 100 connections that ask for a 20 MiB file and never read. Meanwhile a
separate process times normal `GET /` requests. Prints their p50/p99 latency, and whether
every slow client was closed by the deadlines (408 for the heads, the write timeout for the
downloads, and the server's fd count back to its baseline).

Loopback only, bounded in time (--bound), stops only the server it started. Needs
target/release/rawserve (`cargo build --release`). Exit status 0 when the figures hold
(p99 < 100 ms, no failed normal request, every slow client closed), else 1.
"""

import argparse
import multiprocessing
import os
import selectors
import socket
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


def probe(port, seconds, every, results):
    """Normal GET / requests, one at a time, for `seconds`: (status, latency) each."""
    out = []
    until = time.monotonic() + seconds
    while time.monotonic() < until:
        status, _, elapsed = harness.http_get(port, "/", timeout=5.0)
        out.append((status, elapsed))
        time.sleep(every)
    results.put(out)


def open_nonblocking(port, count):
    """Starts `count` connections at once; returns those that connected within 10 s."""
    sel = selectors.DefaultSelector()
    pending = []
    for _ in range(count):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        s.connect_ex(("127.0.0.1", port))
        sel.register(s, selectors.EVENT_WRITE)
        pending.append(s)
    connected = []
    until = time.monotonic() + 10
    while len(connected) < count and time.monotonic() < until:
        for key, _ in sel.select(timeout=0.5):
            s = key.fileobj
            sel.unregister(s)
            if s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                connected.append(s)
            else:
                s.close()
        if not sel.get_map():
            break
    for key in list(sel.get_map().values()):
        key.fileobj.close()
    sel.close()
    return connected


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--slow", type=int, default=1000, help="slow-header connections (1000)")
    parser.add_argument("--stalled", type=int, default=100, help="stalled downloads (100)")
    parser.add_argument("--byte-every", type=float, default=2.0, help="seconds between a slow client's bytes (2)")
    parser.add_argument("--probe-seconds", type=float, default=30.0, help="how long normal requests are timed (30)")
    parser.add_argument("--probe-every", type=float, default=0.02, help="pause between normal requests (0.02 s)")
    parser.add_argument("--bound", type=int, default=180, help="the script's time bound in seconds (180)")
    parser.add_argument("server_args", nargs="*", help="extra rawserve options after --")
    args = parser.parse_args()

    binary = harness.find_binary()
    harness.raise_fd_limit(args.slow + args.stalled + 1000)
    harness.deadline(args.bound)
    root = harness.make_root(20)
    server = harness.Server(binary, root, args.server_args)
    started = time.monotonic()
    try:
        print(f"slow_clients: {args.slow} slow-header clients (a byte every {args.byte_every:g} s) + "
              f"{args.stalled} stalled 20 MiB downloads, all at once; server: {server.startup_line} "
              f"{' '.join(args.server_args) or '(default limits)'}")
        print(harness.machine_line())
        for _ in range(5):
            harness.http_get(server.port)
        time.sleep(0.3)
        base_fds, base_rss = server.fds(), server.rss_kib()

        slow = open_nonblocking(server.port, args.slow)
        for s in slow:
            s.send(b"GET / HTTP/1.1\r\n")
        stalled = open_nonblocking(server.port, args.stalled)
        for s in stalled:
            s.send(b"GET /big.bin HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        t0 = time.monotonic()
        print(f"connected: {len(slow)}/{args.slow} slow, {len(stalled)}/{args.stalled} stalled "
              f"in {t0 - started:.1f} s")

        results = multiprocessing.Queue()
        prober = multiprocessing.Process(target=probe, args=(server.port, args.probe_seconds, args.probe_every, results))
        prober.start()

        sel = selectors.DefaultSelector()
        for s in slow:
            sel.register(s, selectors.EVENT_READ)
        got_408, closed_other, closed_at = 0, 0, []
        open_slow = set(slow)
        peak_fds, peak_rss = base_fds, base_rss
        next_byte = time.monotonic() + args.byte_every
        next_sample = time.monotonic()
        timeline = []
        # Long enough for the head deadline (10 s), the write timeout (20 s) and lingering.
        wait_until = t0 + max(args.probe_seconds, 45.0)
        while time.monotonic() < wait_until:
            now = time.monotonic()
            if now >= next_byte and open_slow:
                for s in list(open_slow):
                    try:
                        s.send(b"X")
                    except OSError:
                        pass  # closed by the server: the read side will tell how
                next_byte = now + args.byte_every
            for key, _ in sel.select(timeout=0.05):
                s = key.fileobj
                try:
                    data = s.recv(4096)
                except OSError:
                    data = b""
                if data.startswith(b"HTTP/1.1 408 "):
                    got_408 += 1
                elif data:
                    print(f"unexpected answer to a slow client: {data[:60]!r}")
                    closed_other += 1
                else:
                    closed_other += 1
                closed_at.append(time.monotonic() - t0)
                sel.unregister(s)
                open_slow.discard(s)
                s.close()
            if now >= next_sample:
                fds, rss = server.fds(), server.rss_kib()
                peak_fds, peak_rss = max(peak_fds, fds), max(peak_rss, rss)
                timeline.append((now - t0, fds, rss))
                next_sample = now + 1.0
            if not open_slow and not prober.is_alive() and server.fds() <= base_fds:
                break
        probes = results.get(timeout=30)
        prober.join(timeout=10)

        # The stalled downloads: the server closed them (its fds are back to the baseline);
        # reading what is left in the socket buffers must end in EOF, short of 20 MiB.
        after_fds = server.fds()
        cut_off = 0
        for s in stalled:
            s.setblocking(True)
            s.settimeout(10)
            total, eof = 0, False
            try:
                while True:
                    chunk = s.recv(1 << 20)
                    if not chunk:
                        eof = True
                        break
                    total += len(chunk)
            except OSError:
                eof = True  # a reset also ends it
            if eof and total < 20 * 1024 * 1024 + 4096:
                cut_off += 1
            s.close()
        write_timeouts = server.log_lines("no write progress")

        latencies = [elapsed * 1000 for status, elapsed in probes if status == 200]
        failures = sum(1 for status, _ in probes if status != 200)
        p50, p90, p99 = (harness.percentile(latencies, p) for p in (50, 90, 99))
        worst = max(latencies) if latencies else float("nan")
        print(f"normal GET / during the attack: {len(probes)} requests, {failures} failed; latency ms "
              f"p50 {p50:.2f}  p90 {p90:.2f}  p99 {p99:.2f}  max {worst:.2f}")
        first = min(closed_at) if closed_at else float("nan")
        last = max(closed_at) if closed_at else float("nan")
        print(f"slow-header clients: {got_408 + closed_other}/{len(slow)} closed by the server "
              f"({got_408} with 408, {closed_other} without), {len(open_slow)} still open; "
              f"closed between {first:.1f} s and {last:.1f} s after the attack began")
        print(f"stalled downloads: {write_timeouts} closed by the write timeout (log), "
              f"{cut_off}/{len(stalled)} read to EOF short of the full file afterwards")
        print(f"server fds: baseline {base_fds}, peak {peak_fds}, after {after_fds}; "
              f"RSS KiB: baseline {base_rss}, peak {peak_rss}, after {server.rss_kib()}")
        print("timeline (s, fds, RSS KiB): " +
              " ".join(f"{t:.0f}:{f}:{r}" for t, f, r in timeline[:: max(1, len(timeline) // 12)]))
        ok = (failures == 0 and latencies and p99 < 100.0 and not open_slow
              and len(slow) == args.slow and len(stalled) == args.stalled
              and cut_off == len(stalled) and after_fds <= base_fds)
        print(f"verdict: {'PASS' if ok else 'FAIL'} (p99 < 100 ms, no failed request, every slow client closed, "
              f"fds back to baseline); total {time.monotonic() - started:.1f} s")
        return 0 if ok else 1
    finally:
        code = server.stop()
        print(f"server stopped (exit status {code})")
        harness.remove_root(root)


if __name__ == "__main__":
    sys.exit(main())
