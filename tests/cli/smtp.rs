//! A real SMTP server on loopback for the tests: mailin-embedded (a dev-dependency), started in
//! a thread by the test that needs it. It keeps every message it accepts, and misbehaves on
//! request by recipient address: `reject@` gets 550, `busy@` gets 451 for the first two
//! attempts, `slow@` makes the server wait 3 s before accepting the data. A test can also set
//! the whole server to refuse (554) or defer (451) every recipient, as a broken relay does.

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use mailin_embedded::{AuthMechanism, Handler, Response, Server, SslConfig, response};

/// The only credentials the TLS server accepts.
pub const USER: &str = "breachflow";
pub const PASSWORD: &str = "correct-horse-battery-staple-42";

#[derive(Clone, Default)]
pub struct Mailbox {
    inner: Arc<Mutex<State>>,
}

#[derive(Default)]
struct State {
    /// Accepted messages: (recipients, raw bytes).
    accepted: Vec<(Vec<String>, Vec<u8>)>,
    busy_refusals: HashMap<String, u32>,
    mode: Mode,
}

/// How the server answers every recipient, whatever the address.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug)]
pub enum Mode {
    /// By address, as the module says.
    #[default]
    Normal,
    /// 554 to everyone: a relay refusing for good.
    RefuseAll,
    /// 451 to everyone: a relay deferring.
    DeferAll,
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
        match self.mailbox.inner.lock().unwrap().mode {
            Mode::RefuseAll => return response::TRANSACTION_FAILED,
            Mode::DeferAll => return response::INTERNAL_ERROR,
            Mode::Normal => {}
        }
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

    fn auth_plain(&mut self, _: &str, user: &str, password: &str) -> Response {
        if user == USER && password == PASSWORD {
            response::AUTH_OK
        } else {
            response::INVALID_CREDENTIALS
        }
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

    /// Makes the server answer every recipient this way from now on.
    pub fn set_mode(&self, mode: Mode) {
        self.inner.lock().unwrap().mode = mode;
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

/// A certificate authority and a `localhost` certificate it signed, written as PEM files in
/// `dir`; returns (CA file, certificate chain file, key file).
pub fn certificates(dir: &std::path::Path) -> (String, String, String) {
    use rcgen::{
        BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, KeyPair,
        KeyUsagePurpose,
    };
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.distinguished_name
        .push(DnType::CommonName, "breachflow test CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
    let ca = ca.self_signed(&ca_key).unwrap();
    let key = KeyPair::generate().unwrap();
    let mut leaf = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
    leaf.distinguished_name
        .push(DnType::CommonName, "localhost");
    leaf.is_ca = IsCa::NoCa;
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    let leaf = leaf.signed_by(&key, &ca, &ca_key).unwrap();
    let write = |name: &str, text: String| {
        let p = dir.join(name);
        std::fs::write(&p, text).unwrap();
        p.to_str().unwrap().to_string()
    };
    (
        write("ca.pem", ca.pem()),
        write("chain.pem", format!("{}{}", leaf.pem(), ca.pem())),
        write("key.pem", key.serialize_pem()),
    )
}

impl Mailbox {
    /// A server on 127.0.0.1 that offers STARTTLS with `cert` and `key`.
    pub fn start_tls(cert: &str, key: &str) -> (u16, Mailbox) {
        // Both ring and aws-lc-rs are in the test build; the server must be told which to use.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let mailbox = Mailbox::default();
        let session = Session {
            mailbox: mailbox.clone(),
            to: Vec::new(),
            data: Vec::new(),
            slow: false,
        };
        let (cert, key) = (cert.to_string(), key.to_string());
        std::thread::spawn(move || {
            let mut server = Server::new(session);
            server
                .with_name("localhost")
                .with_ssl(SslConfig::SelfSigned {
                    cert_path: cert,
                    key_path: key,
                })
                .unwrap()
                .with_auth(AuthMechanism::Plain)
                .with_num_threads(2)
                .with_tcp_listener(listener);
            let _ = server.serve();
        });
        (port, mailbox)
    }
}
