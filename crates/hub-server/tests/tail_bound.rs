//! The bound on one `/api/tail` stream: the node holds at most 256 events in the tail's
//! channel and 512 read from the log for it, and waits for the browser rather than cutting
//! it off. The browser here is a raw socket with a small receive buffer, so the test
//! decides when bytes are read. From outside, the test sees that the tail stops reading
//! the log short of a backlog larger than everything that can sit between the log and the
//! browser; the exact number of events the tail holds is not visible.

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::*;
use hub_server::RunningNode;
use hub_types::{ExpectedVersion, StreamId};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

/// The tail client's receive buffer, so that little waits on the client's side.
const RECV_BUFFER: u32 = 4096;
/// More than the admin listener's HTTP/1 write buffer (hyper's default is 400 KiB).
const HTTP_BUFFER: u64 = 1 << 20;
/// Fewer bytes than any tail event takes on the wire; checked for every event read.
const MIN_EVENT_BYTES: usize = 150;
/// Events the tail holds in the node: its channel and one batch read from the log.
const TAIL_HOLDS: u64 = 256 + 512;

/// A backlog larger than everything that can sit between the log and a browser that does
/// not read: the node's send buffer at its largest (`tcp_wmem`), the client's receive
/// buffer, the HTTP write buffer and what the tail itself holds.
fn backlog() -> u64 {
    let send_buffer = std::fs::read_to_string("/proc/sys/net/ipv4/tcp_wmem")
        .ok()
        .and_then(|s| s.split_whitespace().nth(2)?.parse::<u64>().ok())
        .unwrap_or(4 << 20);
    let bytes = send_buffer + 2 * u64::from(RECV_BUFFER) + HTTP_BUFFER;
    bytes / MIN_EVENT_BYTES as u64 + TAIL_HOLDS + 1_000
}

/// One server-sent event.
#[derive(Debug)]
struct SseEvent {
    kind: String,
    id: Option<u64>,
    data: String,
    /// Its size on the wire, without the HTTP framing.
    bytes: usize,
}

/// A tail client on a raw socket: it reads only when the test asks for an event.
struct RawTail {
    socket: TcpStream,
    /// Bytes read and not yet taken out of their HTTP chunks.
    raw: Vec<u8>,
    /// The response body read so far and not yet parsed into events.
    body: Vec<u8>,
    chunked: bool,
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

impl RawTail {
    /// Opens `/api/tail?{query}` and reads the response head; `recv_buffer` sets the
    /// socket's receive buffer.
    async fn open(admin: SocketAddr, query: &str, recv_buffer: Option<u32>) -> Self {
        let socket = TcpSocket::new_v4().expect("socket");
        // Set before connecting, so that the window the client offers stays small.
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).expect("receive buffer");
        }
        let mut socket = socket.connect(admin).await.expect("connect");
        let request = format!(
            "GET /api/tail?{query} HTTP/1.1\r\nhost: {admin}\r\naccept: text/event-stream\r\n\r\n"
        );
        socket.write_all(request.as_bytes()).await.expect("request");
        let mut tail = Self {
            socket,
            raw: Vec::new(),
            body: Vec::new(),
            chunked: false,
        };
        let head = loop {
            if let Some(end) = find(&tail.raw, b"\r\n\r\n") {
                let head = String::from_utf8_lossy(&tail.raw[..end]).to_ascii_lowercase();
                tail.raw.drain(..end + 4);
                break head;
            }
            tail.fill().await;
        };
        assert!(head.starts_with("http/1.1 200"), "{head}");
        tail.chunked = head.contains("transfer-encoding: chunked");
        tail
    }

    async fn fill(&mut self) {
        let mut buf = [0u8; 16 * 1024];
        let n = self.socket.read(&mut buf).await.expect("read the tail");
        assert!(n > 0, "the node closed the tail");
        self.raw.extend_from_slice(&buf[..n]);
    }

    /// Moves the complete chunks read so far into `body`.
    fn dechunk(&mut self) {
        if !self.chunked {
            self.body.append(&mut self.raw);
            return;
        }
        while let Some(line) = find(&self.raw, b"\r\n") {
            let size = std::str::from_utf8(&self.raw[..line])
                .ok()
                .and_then(|s| s.split(';').next())
                .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
                .expect("a chunk size");
            assert!(size > 0, "the node ended the tail");
            let end = line + 2 + size + 2;
            if self.raw.len() < end {
                return;
            }
            self.body
                .extend_from_slice(&self.raw[line + 2..line + 2 + size]);
            self.raw.drain(..end);
        }
    }

    /// Reads until the next event (keep-alive comments are skipped).
    async fn next(&mut self) -> SseEvent {
        loop {
            self.dechunk();
            while let Some(end) = find(&self.body, b"\n\n") {
                let block: Vec<u8> = self.body.drain(..end + 2).collect();
                let text = String::from_utf8(block).expect("utf-8 events");
                let mut event = SseEvent {
                    kind: String::new(),
                    id: None,
                    data: String::new(),
                    bytes: text.len(),
                };
                for line in text.lines() {
                    let Some((field, value)) = line.split_once(':') else {
                        continue;
                    };
                    let value = value.strip_prefix(' ').unwrap_or(value);
                    match field {
                        "event" => event.kind = value.into(),
                        "id" => event.id = Some(value.parse().expect("a numeric id")),
                        "data" => event.data = value.into(),
                        _ => {}
                    }
                }
                if !event.kind.is_empty() {
                    return event;
                }
            }
            self.fill().await;
        }
    }
}

/// Appends `n` demand events of Shanghai straight to the node's log, 1 000 at a time.
async fn append_to_log(node: &RunningNode, n: u64) {
    let stream: StreamId = "demand/310000/tail-backlog".parse().expect("stream");
    let mut left = n;
    while left > 0 {
        let take = left.min(1_000);
        let events = (1..=take)
            .map(|h| hub_log::conformance::demand_event(&stream, h as u32))
            .collect();
        node.hub
            .log()
            .append(&stream, ExpectedVersion::Any, events)
            .await
            .expect("append");
        left -= take;
    }
}

/// Starts a node on `dir` with its admin listener on a free port; returns it and the
/// listener's address.
async fn start_with_admin(dir: &std::path::Path) -> (RunningNode, SocketAddr) {
    let mut c = config(dir);
    c.admin.listen = "127.0.0.1:0".into();
    let node = RunningNode::start_with_admin(c).await.expect("node starts");
    let admin = node
        .admin_url()
        .expect("admin listener")
        .trim_start_matches("http://")
        .parse()
        .expect("admin address");
    (node, admin)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tail_whose_browser_does_not_read_stops_reading_the_log_and_then_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (node, admin) = start_with_admin(dir.path()).await;
    let backlog = backlog();
    append_to_log(&node, backlog).await;

    // The browser opens a tail from the start of the log and then reads nothing.
    let mut stalled = RawTail::open(admin, "after=0", Some(RECV_BUFFER)).await;

    // Another browser reads the whole backlog meanwhile: one tail waiting does not hold
    // up the others. Had the first tail read the log regardless of its browser, it would
    // have reached the backlog's end by now as well.
    let mut reading = RawTail::open(admin, "after=0", None).await;
    assert_eq!(read_to_caught_up(&mut reading).await, backlog);

    // Appends go on being served.
    let mut publisher = publisher(&node, Some(SH)).await;
    let later = append_n(&mut publisher, "while-stalled", 100).await;
    let head = backlog + 100;
    assert_eq!(later.last().copied(), Some(head));

    // Now the first browser reads: every event, in order, none missing or twice. Its tail
    // says it caught up only after the events appended while it waited: it had not read
    // the log up to the backlog's end, so it held no more than what its browser was sent
    // and its own bound, never the backlog.
    assert_eq!(
        read_to_caught_up(&mut stalled).await,
        head,
        "the waiting tail read the log ahead of its browser"
    );

    // And it follows live again.
    let live = append_n(&mut publisher, "live", 1).await;
    let event = stalled.next().await;
    assert_eq!(
        (event.kind.as_str(), event.id),
        ("event", live.first().copied())
    );

    drop((stalled, reading));
    node.stop().await.expect("stop");
}

/// Reads events until `caught_up`, checking that they are the log's from position 1 on,
/// each once and in order; returns the head `caught_up` names.
async fn read_to_caught_up(tail: &mut RawTail) -> u64 {
    let mut expected = 1;
    loop {
        let event = tail.next().await;
        match event.kind.as_str() {
            "event" => {
                assert_eq!(event.id, Some(expected), "the tail skipped or repeated");
                assert!(
                    event.bytes >= MIN_EVENT_BYTES,
                    "an event of {} bytes: the backlog is sized for at least {MIN_EVENT_BYTES}",
                    event.bytes
                );
                expected += 1;
            }
            "caught_up" => {
                let data: serde_json::Value = serde_json::from_str(&event.data).expect("json");
                let head = data["head"].as_u64().expect("a head");
                assert_eq!(
                    head,
                    expected - 1,
                    "caught up after every event up to its head"
                );
                return head;
            }
            other => panic!("unexpected {other} event: {}", event.data),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tail_whose_browser_does_not_read_does_not_hold_up_a_stop() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (node, admin) = start_with_admin(dir.path()).await;
    let backlog = backlog();
    append_to_log(&node, backlog).await;
    let stalled = RawTail::open(admin, "after=0", Some(RECV_BUFFER)).await;
    // A second tail reads the backlog whole, so the first has had time to fill what lies
    // between it and its browser and waits to send.
    let mut reading = RawTail::open(admin, "after=0", None).await;
    assert_eq!(read_to_caught_up(&mut reading).await, backlog);

    // Its task ends when the node stops, rather than being aborted after the wait.
    let ended = node
        .stop_within(Duration::from_secs(5))
        .await
        .expect("stop");
    assert!(
        ended,
        "the waiting tail's task did not end when the node stopped"
    );
    drop((stalled, reading));
}
