//! A small HTTP/1.1 client for the admin listener and for chromedriver.

#![allow(dead_code)] // each test file uses a different part of this module

use std::collections::BTreeMap;

use axum::http::{Method, Request};
use http_body_util::BodyExt;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

/// Sends one request; returns the status and the body as text.
pub async fn call(method: Method, url: &str, body: Option<String>) -> (u16, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<String>();
    let mut req = Request::builder().method(method).uri(url);
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let req = req.body(body.unwrap_or_default()).expect("request");
    let resp = client
        .request(req)
        .await
        .unwrap_or_else(|e| panic!("{url}: {e}"));
    let status = resp.status().as_u16();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .expect("response body")
        .to_bytes();
    (status, String::from_utf8_lossy(&bytes).into_owned())
}

/// `GET url`.
pub async fn get(url: &str) -> (u16, String) {
    call(Method::GET, url, None).await
}

/// Parses the Prometheus text format into `name{labels}` → value (labels as written).
pub fn parse_metrics(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (name, value) = l.rsplit_once(' ')?;
            Some((name.to_owned(), value.parse().ok()?))
        })
        .collect()
}
pub mod webdriver;
