//! The bounds on what a caller keeps open rather than sends: `AppendStream` calls,
//! connections, and the admin listener's `/api/tail` streams. Each refuses the one past its
//! bound, clearly, and admits again once one closes.

mod common;

use std::time::Duration;

use axum::http::Request;
use common::*;
use hub_proto::pb;
use hub_server::RunningNode;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tokio_stream::StreamExt;
use tonic::Code;

/// How long a test waits for a closed stream or connection to give its place back.
const RELEASE: Duration = Duration::from_secs(10);

/// An open `AppendStream`: requests go in through `tx`, answers come out of `answers`.
struct OpenAppendStream {
    tx: mpsc::Sender<pb::AppendRequest>,
    answers: tonic::Streaming<pb::AppendResponse>,
}

async fn open_append_stream(node: &RunningNode) -> Result<OpenAppendStream, tonic::Status> {
    let (tx, rx) = mpsc::channel(4);
    let answers = publisher(node, Some(SH))
        .await
        .append_stream(ReceiverStream::new(rx))
        .await?
        .into_inner();
    Ok(OpenAppendStream { tx, answers })
}

impl OpenAppendStream {
    /// Appends one event through the stream and waits for its answer.
    async fn append(&mut self, signal: &str) -> pb::AppendResponse {
        let (stream, event) = demand("310000", signal, 1);
        self.tx
            .send(append_one(&stream, event))
            .await
            .expect("stream open");
        self.answers
            .next()
            .await
            .expect("an answer")
            .expect("appended")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn append_streams_past_the_bound_are_refused_until_one_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |c| c.server.max_append_streams = 2).await;
    let mut first = open_append_stream(&node).await.expect("first");
    let mut second = open_append_stream(&node).await.expect("second");
    first.append("a").await;
    second.append("b").await;

    let refused = open_append_stream(&node)
        .await
        .err()
        .expect("a third stream is past the bound");
    assert_eq!(refused.code(), Code::ResourceExhausted, "{refused:?}");
    assert!(
        refused.message().contains("server.max_append_streams")
            && refused.message().contains("at most 2"),
        "{}",
        refused.message()
    );
    // The open streams are unaffected, and unary appends are not counted here.
    second.append("c").await;
    let mut unary = publisher(&node, Some(SH)).await;
    let (stream, event) = demand("310000", "unary", 1);
    unary
        .append(append_one(&stream, event))
        .await
        .expect("a unary append");

    // Closing one (the caller ends its requests) gives its place to the next.
    drop(first);
    let deadline = tokio::time::Instant::now() + RELEASE;
    let mut third = loop {
        match open_append_stream(&node).await {
            Ok(open) => break open,
            Err(s) if s.code() == Code::ResourceExhausted => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "no place was given back"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(s) => panic!("{s:?}"),
        }
    };
    third.append("d").await;
    assert_eq!(node.hub.log().head(), 5);
    drop((second, third, unary));
    node.stop().await.expect("stop");
}

/// Whether a call failed because its connection was closed under it: gRPC clients say
/// UNAVAILABLE; tonic's says UNKNOWN "transport error" when the request was sent, and
/// CANCELLED, from hyper's "connection closed", when the close came first.
fn closed_connection(status: &tonic::Status) -> bool {
    match status.code() {
        Code::Unavailable => true,
        Code::Unknown => status.message().contains("transport error"),
        Code::Cancelled => format!("{status:?}").contains("connection closed"),
        _ => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_bound_are_closed_until_one_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let node = start(dir.path(), |c| c.server.max_connections = 2).await;
    let ask = |channel: tonic::transport::Channel| async move {
        pb::query_client::QueryClient::with_interceptor(channel, Auth::bearer("dev-operator"))
            .view_info(pb::ViewInfoRequest::default())
            .await
    };
    let first = channel(&node).await;
    let second = channel(&node).await;
    ask(first.clone()).await.expect("first connection");
    ask(second.clone()).await.expect("second connection");

    // A third connection is closed as soon as it is accepted: its call fails, it never
    // hangs, and the open connections go on.
    let third = tonic::transport::Channel::from_shared(node.endpoint())
        .expect("endpoint")
        .connect_lazy();
    let refused = tokio::time::timeout(RELEASE, ask(third))
        .await
        .expect("a refused connection does not hang")
        .expect_err("past the bound");
    assert!(closed_connection(&refused), "{refused:?}");
    ask(first.clone())
        .await
        .expect("first connection still served");

    drop(second);
    let deadline = tokio::time::Instant::now() + RELEASE;
    loop {
        let fresh = tonic::transport::Channel::from_shared(node.endpoint())
            .expect("endpoint")
            .connect_lazy();
        match ask(fresh).await {
            Ok(_) => break,
            Err(s) if closed_connection(&s) => {
                assert!(
                    tokio::time::Instant::now() < deadline,
                    "no place was given back"
                );
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            Err(s) => panic!("{s:?}"),
        }
    }
    drop(first);
    node.stop().await.expect("stop");
}

/// An answer of `/api/tail`: its status, its body when it was refused, and the response
/// itself, kept open while this lives.
struct Tail {
    status: u16,
    refusal: String,
    _open: Box<dyn std::any::Any + Send>,
}

async fn open_tail(url: &str) -> Tail {
    let client = Client::builder(TokioExecutor::new()).build_http::<String>();
    let req = Request::get(url).body(String::new()).expect("request");
    let response = client.request(req).await.expect("tail answered");
    let status = response.status().as_u16();
    if status == 200 {
        return Tail {
            status,
            refusal: String::new(),
            _open: Box::new(response),
        };
    }
    let body = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();
    Tail {
        status,
        refusal: String::from_utf8_lossy(&body).into_owned(),
        _open: Box::new(()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_tails_past_the_bound_are_refused_until_one_closes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut c = config(dir.path());
    c.admin.listen = "127.0.0.1:0".into();
    c.admin.max_tails = 1;
    let node = RunningNode::start_with_admin(c).await.expect("node starts");
    let url = format!("{}/api/tail", node.admin_url().expect("admin listener"));

    let first = open_tail(&url).await;
    assert_eq!(first.status, 200);
    let refused = open_tail(&url).await;
    assert_eq!(refused.status, 429, "a second tail is past the bound");
    assert!(
        refused.refusal.contains("admin.max_tails"),
        "{}",
        refused.refusal
    );

    // The browser goes away: its place is given back.
    drop(first);
    let deadline = tokio::time::Instant::now() + RELEASE;
    loop {
        let tail = open_tail(&url).await;
        if tail.status == 200 {
            break;
        }
        assert_eq!(tail.status, 429, "{}", tail.refusal);
        assert!(
            tokio::time::Instant::now() < deadline,
            "no place was given back"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    node.stop().await.expect("stop");
}
