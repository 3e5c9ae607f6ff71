//! Live reload (`--live-reload`): HTML pages get a small script that opens an `EventSource`
//! on `/.rawserve/live`; that request is answered with one long `text/event-stream` response
//! on its own connection, and every change below the root becomes one event on every stream.
//!
//! The pieces, by layer: `files::watch::TreeWatch` says which paths changed (inotify, or a
//! walk compared on a timer); [`watch_and_publish`], on its own thread, debounces them into
//! events kept in [`Live`]; each stream is an [`EventStream`] that the HTTP side hands the
//! socket side inside the `Transmission`, and that the event loop asks for bytes on its timer
//! tick (events it has not sent, or a heartbeat). The socket side never formats any of it.
//!
//! The path is under a dot-name, which without `--hidden` is never a served file. With
//! `--hidden` a real `.rawserve/live` is shadowed by the stream (only that one path: the rest
//! of a `.rawserve` folder is served as usual).

use std::collections::{BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use log::{debug, log_enabled, Level};

use crate::files::body::Body;
use crate::files::site::Site;
use crate::files::watch::TreeWatch;
use crate::http::exchange::LoopState;
use crate::http::request::{Method, RequestHead};
use crate::http::response::{Response, Status};
use crate::http::target::parse_target;
use crate::http::RequestError;
use crate::limits::{LIVE_DEBOUNCE_MAX, LIVE_EVENTS_KEPT, LIVE_EVENT_PATHS, LIVE_HEARTBEAT, LIVE_POLL_INTERVAL};

/// The stream's path below the root (`/.rawserve/live`).
const STREAM_PATH: &str = ".rawserve/live";

/// Inserted before `</body>` (or at the end) of every HTML page, listing and 404/403 page.
/// On `change` it reloads the page, or, when only stylesheets changed, swaps each same-origin
/// `<link rel=stylesheet>` for a cache-busted copy (the old one goes once the new one has
/// loaded, so nothing flickers, and scroll position and form state survive). `hello` (the
/// first event of every stream) tells a reconnect after a restart or a missed change: a
/// different boot or sequence number reloads. A stream the browser gave up on (a 503) is
/// opened again after 2 s.
pub const SCRIPT: &str = "<script>/* rawserve --live-reload */(()=>{let known=null;\
const swap=(seq)=>{for(const link of document.querySelectorAll('link[rel~=\"stylesheet\"][href]')){\
const url=new URL(link.href);if(url.origin!==location.origin)continue;url.searchParams.set('rawserve-live',seq);\
const next=link.cloneNode();next.href=url.href;next.onload=()=>link.remove();next.onerror=()=>next.remove();link.after(next);}};\
const open=()=>{const source=new EventSource('/.rawserve/live');\
source.addEventListener('hello',(e)=>{const hello=JSON.parse(e.data);\
if(known&&(hello.boot!==known.boot||hello.seq!==known.seq))location.reload();else known=hello;});\
source.addEventListener('change',(e)=>{const change=JSON.parse(e.data);known={boot:change.boot,seq:change.seq};\
if(change.paths.length&&change.paths.every((p)=>p.endsWith('.css')))swap(change.seq);else location.reload();});\
source.onerror=()=>{if(source.readyState===EventSource.CLOSED)setTimeout(open,2000);};};open();})();</script>\n";

/// What every loop shares about live reload: the events so far and the streams open.
#[derive(Debug)]
pub struct Live {
    /// Tells one run of the server from the next (a reconnect after a restart reloads).
    boot: String,
    /// The last event's number (0: none yet).
    seq: AtomicU64,
    /// The last `LIVE_EVENTS_KEPT` events, formatted: (number, bytes).
    events: Mutex<VecDeque<(u64, Arc<[u8]>)>>,
    streams: AtomicUsize,
    cap: usize,
}

impl Live {
    /// At most `cap` streams open at once.
    pub fn new(cap: usize) -> Live {
        let nanos = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_nanos() as u64);
        Live {
            boot: format!("{:x}", nanos ^ u64::from(std::process::id()) << 40),
            seq: AtomicU64::new(0),
            events: Mutex::new(VecDeque::new()),
            streams: AtomicUsize::new(0),
            cap: cap.max(1),
        }
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// Makes `changed` (paths below the root; `*` for anything) the next event of every stream.
    pub fn publish(&self, changed: &BTreeSet<String>) {
        let Ok(mut events) = self.events.lock() else { return };
        let seq = self.seq.load(Ordering::Acquire) + 1;
        let anything = changed.contains("*") || changed.len() > LIVE_EVENT_PATHS;
        let paths: Vec<String> =
            if anything { vec!["*".to_string()] } else { changed.iter().map(|p| format!("/{p}")).collect() };
        if log_enabled!(Level::Debug) {
            debug!(
                "live reload: event {seq} ({}) for {} streams",
                paths.join(", ").escape_debug(),
                self.streams.load(Ordering::Relaxed)
            );
        }
        events.push_back((seq, change_event(&self.boot, seq, &paths).into_bytes().into()));
        if events.len() > LIVE_EVENTS_KEPT {
            events.pop_front();
        }
        self.seq.store(seq, Ordering::Release);
    }

    /// A new stream, unless `cap` are open.
    fn open(self: &Arc<Live>) -> Option<EventStream> {
        if self.streams.fetch_add(1, Ordering::AcqRel) >= self.cap {
            self.streams.fetch_sub(1, Ordering::AcqRel);
            return None;
        }
        let seen = self.seq.load(Ordering::Acquire);
        Some(EventStream { live: Arc::clone(self), seen, last_sent: Instant::now() })
    }
}

/// One open stream: what it has sent so far. Handed to the socket side in the
/// `Transmission`, which asks it for bytes on every timer tick; dropping it (the connection
/// closed) frees its place under the cap.
#[derive(Debug)]
pub struct EventStream {
    live: Arc<Live>,
    /// The last event sent.
    seen: u64,
    last_sent: Instant,
}

impl EventStream {
    /// What to send now: the events not sent yet (or, when more were missed than are kept,
    /// one event naming `*`), else a heartbeat comment when nothing was sent for
    /// `LIVE_HEARTBEAT`; `None` when nothing is due.
    pub fn poll(&mut self, now: Instant) -> Option<Vec<u8>> {
        let latest = self.live.seq.load(Ordering::Acquire);
        let mut out = Vec::new();
        if latest != self.seen {
            let Ok(events) = self.live.events.lock() else { return None };
            if events.front().is_none_or(|(oldest, _)| *oldest > self.seen + 1) {
                out = change_event(&self.live.boot, latest, &["*".to_string()]).into_bytes();
            } else {
                for (_, bytes) in events.iter().filter(|(seq, _)| *seq > self.seen) {
                    out.extend_from_slice(bytes);
                }
            }
            self.seen = latest;
        } else if now.saturating_duration_since(self.last_sent) >= LIVE_HEARTBEAT {
            out.extend_from_slice(b": heartbeat\n\n");
        }
        if out.is_empty() {
            return None;
        }
        self.last_sent = now;
        Some(out)
    }
}

impl Drop for EventStream {
    fn drop(&mut self) {
        self.live.streams.fetch_sub(1, Ordering::AcqRel);
    }
}

/// `event: change` with `{"boot":…,"seq":N,"paths":["/a.html",…]}`: JSON keeps every byte of
/// a name (quotes, newlines) inside its one `data:` line.
fn change_event(boot: &str, seq: u64, paths: &[String]) -> String {
    let mut data = format!("{{\"boot\":\"{boot}\",\"seq\":{seq},\"paths\":[");
    for (i, path) in paths.iter().enumerate() {
        if i > 0 {
            data.push(',');
        }
        push_json_string(&mut data, path);
    }
    data.push_str("]}");
    format!("event: change\ndata: {data}\n\n")
}

fn push_json_string(out: &mut String, text: &str) {
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
}

/// Whether `target` names the stream (however it is spelled: `/.rawserve/%6cive` too).
pub fn is_stream_target(target: &str) -> bool {
    parse_target(target).is_ok_and(|path| !path.trailing_slash && path.relative == STREAM_PATH)
}

/// The answer to a request for the stream: `200` with `text/event-stream` and no
/// `Content-Length` (the body ends when the connection closes, RFC 9112 §6.3), its first
/// event `hello`, and the stream itself; `503` past the cap. `HEAD` gets the head alone.
pub fn open_stream(
    head: &RequestHead<'_, '_>,
    live: &Arc<Live>,
    state: &mut LoopState,
) -> (Response, Option<EventStream>) {
    if head.method == Method::Options {
        return (Response::refused(&RequestError::MethodNotAllowed), None);
    }
    let (events, first) = if head.method == Method::Head {
        (None, Vec::new())
    } else {
        match live.open() {
            Some(events) => {
                let hello = format!(
                    "retry: 1000\nevent: hello\ndata: {{\"boot\":\"{}\",\"seq\":{}}}\n\n",
                    live.boot, events.seen
                );
                (Some(events), hello.into_bytes())
            }
            None => {
                state.note_resolved(|| format!("live-reload stream refused: {} open, the cap", live.cap));
                let response = Response::error(Status::ServiceUnavailable).because("live-reload streams at the cap");
                return (response, None);
            }
        }
    };
    state.note_resolved(|| {
        format!("live-reload stream ({} of {} open)", live.streams.load(Ordering::Relaxed), live.cap)
    });
    let mut response = Response::event_stream(Body::bytes(first));
    response.field("Content-Type", "text/event-stream").field("Cache-Control", "no-cache");
    (response, events)
}

/// `page` with the script inserted before its last `</body>` (any case), or at its end.
pub fn inject(page: &[u8]) -> Vec<u8> {
    let at = page
        .windows(7)
        .rposition(|w| w[..6].eq_ignore_ascii_case(b"</body") && (w[6] == b'>' || w[6].is_ascii_whitespace()))
        .unwrap_or(page.len());
    let mut out = Vec::with_capacity(page.len() + SCRIPT.len());
    out.extend_from_slice(&page[..at]);
    out.extend_from_slice(SCRIPT.as_bytes());
    out.extend_from_slice(&page[at..]);
    out
}

/// Runs until `stop`: turns what `tree` reports into events, one per burst of changes (the
/// burst ends after `TreeWatch::QUIET` without one — `LIVE_DEBOUNCE`, or one walk of the
/// polling watch — or `LIVE_DEBOUNCE_MAX` after it began).
pub fn watch_and_publish(live: &Live, site: &Site, mut tree: TreeWatch, stop: &AtomicBool) {
    while !stop.load(Ordering::Relaxed) {
        let mut changed = tree.changes(site, LIVE_POLL_INTERVAL);
        if changed.is_empty() {
            continue;
        }
        if log_enabled!(Level::Debug) {
            let first = changed.iter().next().map_or("", String::as_str);
            debug!("live reload: change seen: /{} ({} paths)", first.escape_debug(), changed.len());
        }
        let began = Instant::now();
        while began.elapsed() < LIVE_DEBOUNCE_MAX {
            let more = tree.changes(site, TreeWatch::QUIET);
            if more.is_empty() {
                break;
            }
            changed.extend(more);
        }
        live.publish(&changed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_script_goes_before_the_last_closing_body_tag() {
        let page = inject(b"<p>a</body>x</BODY >\n");
        let expected = format!("<p>a</body>x{SCRIPT}</BODY >\n");
        assert_eq!(String::from_utf8(page).expect("utf-8"), expected);
        assert_eq!(inject(b"<p>no body"), format!("<p>no body{SCRIPT}").into_bytes());
        assert_eq!(inject(b""), SCRIPT.as_bytes());
    }

    #[test]
    fn events_name_paths_as_json_on_one_data_line() {
        let event = change_event("b0", 3, &["/a \"b\"\n.css".to_string(), "/c\\d".to_string()]);
        assert_eq!(
            event,
            "event: change\ndata: {\"boot\":\"b0\",\"seq\":3,\"paths\":[\"/a \\\"b\\\"\\u000a.css\",\"/c\\\\d\"]}\n\n"
        );
    }

    #[test]
    fn streams_get_each_event_once_and_a_star_when_too_far_behind() {
        let live = Arc::new(Live::new(2));
        let mut first = live.open().expect("a stream");
        let _second = live.open().expect("a second stream");
        assert!(live.open().is_none(), "past the cap");
        let now = Instant::now();
        assert_eq!(first.poll(now), None);
        live.publish(&BTreeSet::from(["a.html".to_string()]));
        let sent = String::from_utf8(first.poll(now).expect("the event")).expect("utf-8");
        assert!(sent.ends_with("\"seq\":1,\"paths\":[\"/a.html\"]}\n\n"), "{sent}");
        assert_eq!(first.poll(now), None, "sent once");
        for n in 0..LIVE_EVENTS_KEPT + 1 {
            live.publish(&BTreeSet::from([format!("{n}.css")]));
        }
        let sent = String::from_utf8(first.poll(now).expect("an event")).expect("utf-8");
        assert_eq!(sent.matches("event: change").count(), 1, "{sent}");
        assert!(sent.contains("\"paths\":[\"*\"]"), "{sent}");
        drop(first);
        assert!(live.open().is_some(), "a closed stream frees its place");
    }

    #[test]
    fn a_silent_stream_gets_a_heartbeat() {
        let live = Arc::new(Live::new(1));
        let mut stream = live.open().expect("a stream");
        let later = Instant::now() + LIVE_HEARTBEAT;
        assert_eq!(stream.poll(later).as_deref(), Some(&b": heartbeat\n\n"[..]));
        assert_eq!(stream.poll(later), None);
    }
}
