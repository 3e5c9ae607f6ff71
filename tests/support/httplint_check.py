#!/usr/bin/env python3
"""Lints one raw HTTP exchange with httplint (PyPI `httplint`, the library behind REDbot).

Usage: httplint_check.py REQUEST_FILE RESPONSE_FILE [EXCHANGE_TIME]

Both files hold raw bytes as they went over the socket. The request is linted first and linked
to the response, so httplint's checks that depend on the request (a 206 needs a Range, a 304 a
conditional, HEAD has no content) see it; the response is framed by httplint's own parser (thor)
exactly as its CLI does, with "now" as the time of the exchange (the CLI's `-n`): EXCHANGE_TIME,
Unix seconds taken when the request was sent, or else the time this script starts. (On a busy
machine Python can start seconds after the exchange, and httplint would then call the server's
`Date` wrong: DATE_INCORRECT.)

Prints one line per note of the response, its subnotes after it: `LEVEL<TAB>NAME<TAB>summary`,
LEVEL being httplint's GOOD, INFO, WARN or BAD and NAME the note's class; and one line
`ERROR<TAB>-<TAB>what` per parse error (a response httplint cannot read). Exit status 0
whenever the linter ran; `tests/httplint.rs` decides what counts.
"""

import sys
import time

from httplint import HttpRequestLinter
from httplint.cli.http_parser import HttpCliParser, modes
from httplint.message import HttpResponseLinter
from thor.http.common import no_body_status


def lint_request(raw: bytes, now: float) -> HttpRequestLinter:
    head = raw.split(b"\r\n\r\n", 1)[0]
    lines = head.split(b"\r\n")
    method, target, version = lines[0].split(b" ")
    fields = [tuple(part.strip() for part in line.split(b":", 1)) for line in lines[1:] if line]
    linter = HttpRequestLinter(start_time=now)
    linter.process_request_topline(method, target, version.split(b"/", 1)[1])
    linter.process_headers(fields)
    linter.finish_content(True)
    return linter


class ResponseParser(HttpCliParser):
    """httplint's CLI parser, with the request linked and the notes collected, not printed."""

    def __init__(self, request: HttpRequestLinter, now: float) -> None:
        self.request = request
        self.notes = []
        self.errors = []
        super().__init__(type("Args", (), {"mode": modes.RESPONSE})(), now)

    def input_start(self, top_line, hdr_tuples, conn_tokens, transfer_codes, content_length):
        self.linter = HttpResponseLinter(start_time=self.start_time, _related=self.request)
        self.linter.is_head_response = self.request.method == "HEAD"
        version, status_code, status_phrase = self.response_topline(top_line)
        self.linter.process_response_topline(version, status_code, status_phrase)
        self.linter.process_headers(hdr_tuples)
        is_final = not status_code.startswith(b"1")
        allows_body = is_final and status_code not in no_body_status and not self.linter.is_head_response
        return allows_body, is_final

    def input_end(self, trailers) -> None:
        self.linter.finish_content(True, trailers)

        def walk(note):
            self.notes.append((note.level.name, type(note).__name__, str(note.summary)))
            for sub in note.subnotes:
                walk(sub)

        for note in self.linter.notes:
            walk(note)

    def input_error(self, err, close: bool = True) -> None:
        self.errors.append(f"{err.desc}: {err.detail}" if err.detail else err.desc)


def main() -> None:
    now = float(sys.argv[3]) if len(sys.argv) > 3 else time.time()
    with open(sys.argv[1], "rb") as f:
        request = lint_request(f.read(), now)
    with open(sys.argv[2], "rb") as f:
        raw = f.read()
    parser = ResponseParser(request, now)
    parser.handle_input(raw)
    if not parser.notes and not parser.errors:
        parser.errors.append("the response did not end where its framing says it does")
    lines = parser.notes + [("ERROR", "-", error) for error in parser.errors]
    for fields in lines:
        print("\t".join(" ".join(field.split()) for field in fields))


if __name__ == "__main__":
    main()
