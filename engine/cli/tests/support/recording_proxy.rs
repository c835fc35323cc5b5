//! A recording HTTP forward proxy for tests: `lifeboat` runs with
//! `HTTP_PROXY` pointing here (reqwest honours it), so every request it
//! sends — Keystone and every site — passes through, is logged (method and
//! absolute URL) and is forwarded to the emulator unchanged. A rule can
//! answer a matching GET itself (a fault on the wire, e.g. a smaller quota).
//! Plain blocking std I/O, one thread per connection, one request per
//! connection (`Connection: close` both ways).
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};

type Rule = (String, String, String); // (URL prefix, path suffix, JSON body answered to a GET)

#[derive(Clone)]
pub struct Proxy {
    pub url: String,
    log: Arc<Mutex<Vec<(String, String)>>>,
    rules: Arc<Mutex<Vec<Rule>>>,
}

impl Proxy {
    pub fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let url = format!("http://{}", listener.local_addr().unwrap());
        let p = Proxy {
            url,
            log: Arc::default(),
            rules: Arc::default(),
        };
        let q = p.clone();
        std::thread::spawn(move || {
            for conn in listener.incoming().flatten() {
                let q = q.clone();
                std::thread::spawn(move || {
                    let _ = q.serve(conn);
                });
            }
        });
        p
    }

    /// Every (method, absolute URL) seen so far.
    pub fn requests(&self) -> Vec<(String, String)> {
        self.log.lock().unwrap().clone()
    }

    pub fn clear(&self) {
        self.log.lock().unwrap().clear();
    }

    /// Answer GETs whose URL starts with `prefix` and whose path ends with
    /// `suffix` with `body` (200, JSON).
    pub fn answer(&self, prefix: &str, suffix: &str, body: &str) {
        self.rules
            .lock()
            .unwrap()
            .push((prefix.to_string(), suffix.to_string(), body.to_string()));
    }

    fn serve(&self, mut client: TcpStream) -> std::io::Result<()> {
        let mut reader = BufReader::new(client.try_clone()?);
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let mut parts = line.split_whitespace();
        let (method, target) = (
            parts.next().unwrap_or("").to_string(),
            parts.next().unwrap_or("").to_string(),
        );
        let mut headers = Vec::new();
        let mut length = 0usize;
        loop {
            let mut h = String::new();
            if reader.read_line(&mut h)? == 0 || h == "\r\n" {
                break;
            }
            let lower = h.to_ascii_lowercase();
            if let Some(v) = lower.strip_prefix("content-length:") {
                length = v.trim().parse().unwrap_or(0);
            }
            if lower.starts_with("connection:")
                || lower.starts_with("proxy-connection:")
                || lower.starts_with("keep-alive:")
            {
                continue;
            }
            headers.push(h);
        }
        let mut body = vec![0u8; length];
        reader.read_exact(&mut body)?;
        self.log
            .lock()
            .unwrap()
            .push((method.clone(), target.clone()));
        if method == "GET" {
            let path = target.split('?').next().unwrap_or("");
            let rule = self
                .rules
                .lock()
                .unwrap()
                .iter()
                .find(|(p, sfx, _)| target.starts_with(p.as_str()) && path.ends_with(sfx.as_str()))
                .cloned();
            if let Some((_, _, b)) = rule {
                let resp = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{b}", b.len());
                return client.write_all(resp.as_bytes());
            }
        }
        let rest = target.strip_prefix("http://").unwrap_or(&target);
        let (host, path) = match rest.find('/') {
            Some(i) => (&rest[..i], &rest[i..]),
            None => (rest, "/"),
        };
        let mut up = TcpStream::connect(host)?;
        let mut req = format!("{method} {path} HTTP/1.1\r\n").into_bytes();
        for h in &headers {
            req.extend_from_slice(h.as_bytes());
        }
        req.extend_from_slice(b"Connection: close\r\n\r\n");
        req.extend_from_slice(&body);
        up.write_all(&req)?;
        let mut resp = Vec::new();
        up.read_to_end(&mut resp)?;
        // The answer's head with `Connection: close`, then its body as is.
        let split = resp
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .map(|i| i + 4)
            .unwrap_or(resp.len());
        let head = String::from_utf8_lossy(&resp[..split]).into_owned();
        let mut out = String::new();
        for l in head.split("\r\n").filter(|l| !l.is_empty()) {
            if !l.to_ascii_lowercase().starts_with("connection:") {
                out.push_str(l);
                out.push_str("\r\n");
            }
        }
        out.push_str("Connection: close\r\n\r\n");
        client.write_all(out.as_bytes())?;
        client.write_all(&resp[split..])?;
        client.flush()
    }
}
