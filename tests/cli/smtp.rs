//! A real SMTP server on loopback for the tests: mailin-embedded (a dev-dependency), started in
//! a thread by the test that needs it. It keeps every message it accepts, and misbehaves on
//! request by recipient address: `reject@` gets 550, `busy@` gets 451 for the first two
//! attempts, `slow@` makes the server wait 3 s before accepting the data.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use mailin_embedded::{Handler, Response, Server, SslConfig, response};

#[derive(Clone, Default)]
pub struct Mailbox {
    inner: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// Accepted messages: (recipients, raw bytes).
    accepted: Vec<(Vec<String>, Vec<u8>)>,
    busy_refusals: HashMap<String, u32>,
}

#[derive(Clone)]
struct Session {
    mailbox: Mailbox,
    to: Vec<String>,
    data: Vec<u8>,
    slow: bool,
}

impl Handler for Session {
    fn rcpt(&mut self, to: &str) -> Response {
        let to = to.trim_matches(|c| c == '<' || c == '>').to_string();
        if to.starts_with("reject@") {
            return response::NO_MAILBOX;
        }
        if to.starts_with("busy@") {
            let mut s = self.mailbox.inner.lock().unwrap();
            let n = s.busy_refusals.entry(to.clone()).or_default();
            if *n < 2 {
                *n += 1;
                return response::INTERNAL_ERROR;
            }
        }
        self.slow |= to.starts_with("slow@");
        self.to.push(to);
        response::OK
    }

    fn data_start(&mut self, _: &str, _: &str, _: bool, _: &[String]) -> Response {
        self.data.clear();
        response::OK
    }

    fn data(&mut self, buf: &[u8]) -> std::io::Result<()> {
        self.data.extend_from_slice(buf);
        Ok(())
    }

    fn data_end(&mut self) -> Response {
        if std::mem::take(&mut self.slow) {
            std::thread::sleep(std::time::Duration::from_secs(3));
        }
        let mut s = self.mailbox.inner.lock().unwrap();
        s.accepted
            .push((std::mem::take(&mut self.to), std::mem::take(&mut self.data)));
        response::OK
    }
}

impl Mailbox {
    /// Starts a server on 127.0.0.1 and returns its port and mailbox.
    pub fn start() -> (u16, Mailbox) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mailbox = Mailbox::default();
        let session = Session {
            mailbox: mailbox.clone(),
            to: Vec::new(),
            data: Vec::new(),
            slow: false,
        };
        std::thread::spawn(move || {
            let mut server = Server::new(session);
            server
                .with_name("localhost")
                .with_ssl(SslConfig::None)
                .unwrap()
                .with_num_threads(2)
                .with_tcp_listener(listener);
            let _ = server.serve();
        });
        (port, mailbox)
    }

    /// Every accepted message as (recipients, raw text).
    pub fn messages(&self) -> Vec<(Vec<String>, String)> {
        self.inner
            .lock()
            .unwrap()
            .accepted
            .iter()
            .map(|(to, d)| (to.clone(), String::from_utf8_lossy(d).to_string()))
            .collect()
    }

    /// How many accepted messages went to `address`.
    pub fn count_to(&self, address: &str) -> usize {
        self.inner
            .lock()
            .unwrap()
            .accepted
            .iter()
            .filter(|(to, _)| to.iter().any(|t| t == address))
            .count()
    }
}
