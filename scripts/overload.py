#!/usr/bin/env python3
"""Overload at full scale: 5,000 connection attempts in one burst against a server whose
in-flight cap is below that (--cap, default 1000; the server's own default is 4096).

The clients connect all at once and only then send `GET /`, so every connection is in
flight at the same moment: the first `cap` are served, the rest must get `503` with
`Retry-After` at once (or a clean refusal: connection refused or reset) and none may hang.
Prints the counts, the server's RSS and fds before, at the peak and after, and then a normal
request's answer.

Loopback only, bounded (--bound), stops only the server it started. Needs
target/release/rawserve (`cargo build --release`). Exit status 0 when no client hung, every
503 carried Retry-After, memory stayed bounded and the server answered normally after.
"""

import argparse
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ in the repository
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness  # noqa: E402


NEEDLES = ("connections in flight, the cap", "below the connection cap again", "out of file descriptors")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--attempts", type=int, default=5000)
    parser.add_argument("--cap", type=int, default=1000, help="--max-connections for the server (1000)")
    parser.add_argument("--hang", type=float, default=30.0, help="seconds without an outcome that count as a hang")
    parser.add_argument("--bound", type=int, default=180)
    args = parser.parse_args()

    binary = harness.find_binary()
    harness.raise_fd_limit(args.attempts + 500)
    harness.deadline(args.bound)
    root = harness.make_root(1)
    server = harness.Server(binary, root, ["--max-connections", str(args.cap)])
    try:
        print(f"overload: {args.attempts} connection attempts in a burst, cap --max-connections {args.cap}; "
              f"{server.startup_line}")
        print(harness.machine_line())
        for _ in range(5):
            harness.http_get(server.port)
        time.sleep(0.3)
        rss_before, fds_before = server.rss_kib(), server.fds()

        ok = True
        for mode, send_at_once in (("held: every client connects, then all send GET /", False),
                                   ("immediate: each client sends GET / as soon as it is connected", True)):
            logged = {n: server.log_lines(n) for n in NEEDLES}
            outcome, (burst_seconds, all_connected_seconds, done_seconds), (peak_rss, peak_fds) = harness.burst(
                server, args.attempts, "/", hang=args.hang, send_at_once=send_at_once)
            until = time.monotonic() + 10
            while server.fds() > fds_before and time.monotonic() < until:
                time.sleep(0.1)
            time.sleep(0.6)  # the server writes its log in batches, every 200 ms
            rss_after, fds_after = server.rss_kib(), server.fds()
            status, size, elapsed = harness.http_get(server.port)
            new = {n: server.log_lines(n) - logged[n] for n in NEEDLES}
            print(f"\n{mode}")
            print(f"  burst: {args.attempts} connects issued in {burst_seconds:.2f} s, all connected/failed after "
                  f"{all_connected_seconds:.2f} s, every outcome known after {done_seconds:.2f} s")
            print("  outcomes: " + ", ".join(f"{k} {v}" for k, v in outcome.items()))
            print(f"  server RSS KiB: before {rss_before}, peak seen {peak_rss} (VmHWM {server.peak_rss_kib()}), "
                  f"after {rss_after}; fds: before {fds_before}, peak {peak_fds}, after {fds_after}")
            print("  log lines: " + ", ".join(f"{v} '{k}'" for k, v in new.items()))
            print(f"  normal request right after: status {status}, {size} bytes, {elapsed * 1000:.1f} ms")
            answered = outcome["200"] + outcome["503"]
            held = (outcome["hang"] == 0 and outcome["503 without Retry-After"] == 0 and outcome["other status"] == 0
                    and status == 200 and answered + outcome["refused at connect"]
                    + outcome["closed/reset before an answer"] == args.attempts
                    and rss_after < rss_before + 64 * 1024 and fds_after <= fds_before)
            print(f"  {'PASS' if held else 'FAIL'} (no hang, every 503 with Retry-After, memory bounded, fds back, "
                  f"served normally after)")
            ok = ok and held
        print(f"\nverdict: {'PASS' if ok else 'FAIL'}")
        return 0 if ok else 1
    finally:
        code = server.stop()
        print(f"server stopped (exit status {code})")
        harness.remove_root(root)


if __name__ == "__main__":
    sys.exit(main())
