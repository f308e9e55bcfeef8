//! The command line beside a team server: where a command runs, and sending it there.
//!
//! When `breachflow serve` holds the data directory (its socket answers), or `--server URL`
//! names one, a command that needs the store is sent to the server with the files it reads and
//! the caller's token; the server runs it exactly as this process would (`cli::remote`) and
//! answers with what it printed, the files it wrote (written here, 0600) and its exit code.
//! With no server, the command opens the store itself, as before. Commands that never touch
//! the store (`demo`, `man`, `schema export`, ...) always run here.
//!
//! The client is a small HTTP/1.1 exchange (hyper) on a single-threaded runtime: a command
//! through the server costs little more than process start and the server's own work.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;

use super::remote::{RunRequest, RunResponse, SentFile, files_of, not_here};
use super::{Cli, error, output};

/// The socket `breachflow serve` listens on, in the data directory (0600).
pub const SOCKET: &str = "serve.sock";

/// The environment variable holding the caller's API token.
pub const TOKEN_VAR: &str = "BREACHFLOW_TOKEN";

/// Where a command runs.
pub enum Route {
    /// In this process, on a store it opens.
    Here,
    /// On a server.
    Server(Server),
}

/// A server to send the command to.
pub enum Server {
    /// The socket of the server holding the local data directory.
    Socket(PathBuf),
    /// `--server URL`: `http://host:port` (loopback) or `https://host:port`.
    Remote(String),
}

/// Where `cli`'s command runs.
pub fn route(cli: &Cli) -> Route {
    if runs_here(&cli.command) {
        return Route::Here;
    }
    if let Some(url) = &cli.server {
        return Route::Server(Server::Remote(url.clone()));
    }
    let dir = cli.data_dir.clone().unwrap_or_else(super::default_data_dir);
    let socket = dir.join(SOCKET);
    // A socket left by a server that was killed refuses the connection: the store is free.
    if std::os::unix::net::UnixStream::connect(&socket).is_ok() {
        return Route::Server(Server::Socket(socket));
    }
    Route::Here
}

/// Commands that never open the store: they run in this process even beside a server.
fn runs_here(cmd: &super::Command) -> bool {
    matches!(
        crate::cli::permission::access(cmd),
        crate::cli::permission::Access::Local
    )
}

/// Sends `cli` (typed as `args`) to `server`, prints the answer, writes the files, and returns
/// the exit code.
pub fn run(server: Server, cli: &Cli, args: &[OsString]) -> u8 {
    match send(&server, cli, args) {
        Ok(code) => code,
        Err(Failure {
            exit,
            message,
            hint,
        }) => {
            if cli.format == output::Format::Json {
                output::note(
                    &serde_json::json!({"error": {"code": error::code_name(exit), "exit": exit,
                        "message": message, "hint": hint, "file": null, "problems": []}})
                    .to_string(),
                );
            } else {
                output::note(&format!("error: {message}"));
                if let Some(h) = hint {
                    output::note(&format!("hint: {h}"));
                }
            }
            exit
        }
    }
}

/// Why a command could not be sent or answered.
struct Failure {
    exit: u8,
    message: String,
    hint: Option<String>,
}

impl Failure {
    fn new(exit: u8, message: impl Into<String>) -> Failure {
        Failure {
            exit,
            message: message.into(),
            hint: None,
        }
    }
    fn hint(mut self, hint: impl Into<String>) -> Failure {
        self.hint = Some(hint.into());
        self
    }
}

fn send(server: &Server, cli: &Cli, args: &[OsString]) -> Result<u8, Failure> {
    if let Some(r) = not_here(cli) {
        return Err(Failure {
            exit: r.exit,
            message: r.message,
            hint: r.hint,
        });
    }
    let where_ = match server {
        Server::Socket(p) => format!("the server holding this data directory ({})", p.display()),
        Server::Remote(url) => format!("the server at {url}"),
    };
    let token = std::env::var(TOKEN_VAR)
        .ok()
        .filter(|t| !t.trim().is_empty());
    // The first token is made with a password: `token create` is how a person signs in.
    if let (None, super::Command::Token(super::TokenCommand::Create { user, label })) =
        (&token, &cli.command)
    {
        return token_with_password(server, &where_, cli.format, user, label.as_deref());
    }
    let token = token.ok_or_else(|| {
            Failure::new(
                error::EXIT_UNAUTHENTICATED,
                format!("{where_} runs this command, and it needs to know who you are"),
            )
            .hint(format!(
                "set {TOKEN_VAR} to your API token (`breachflow token create --user NAME` makes one; the first admin is made with `breachflow user add` while the server is stopped)"
            ))
        })?;
    let mut words = Vec::with_capacity(args.len());
    for a in args.iter().skip(1) {
        words.push(a.to_str().map(str::to_string).ok_or_else(|| {
            Failure::new(
                error::EXIT_INVALID_INPUT,
                format!("{a:?} is not UTF-8 text, which is all the server accepts"),
            )
        })?);
    }
    let (reads, writes) = files_of(&cli.command);
    let data_dir = cli.data_dir.clone().unwrap_or_else(super::default_data_dir);
    for path in &writes {
        crate::adapters::files::check_output(path, &data_dir)
            .map_err(|e| Failure::new(error::EXIT_OUTPUT_REFUSED, e.to_string()))?;
    }
    let mut files = Vec::with_capacity(reads.len());
    for path in &reads {
        let bytes = read_limited(path)?;
        files.push(SentFile::new(path, &bytes));
    }
    // A new password is read here, where the person is, and travels with the command.
    let secret = match &cli.command {
        super::Command::User(super::UserCommand::Passwd { name }) => Some(
            super::commands::account::read_password(&format!("New password for {name}: "))
                .map_err(|e| Failure::new(e.exit_code(), e.to_string()))?,
        ),
        _ => None,
    };
    let request = RunRequest {
        args: words,
        now: cli.now,
        columns: columns(),
        files,
        secret,
    };
    let body = serde_json::to_vec(&request)
        .map_err(|e| Failure::new(error::EXIT_INTERNAL, e.to_string()))?;
    let (status, answer) = post(server, "/api/v1/run", &token, body).map_err(|e| {
        Failure::new(error::EXIT_FAILURE, format!("cannot reach {where_}: {e}"))
            .hint("is `breachflow serve` running? `breachflow serve --help` says how to start it")
    })?;
    let response: RunResponse = match serde_json::from_slice(&answer) {
        Ok(r) => r,
        Err(_) => {
            let (exit, hint) = match status {
                401 => (
                    error::EXIT_UNAUTHENTICATED,
                    Some(format!(
                        "your token was not accepted (revoked, expired, or the account disabled); make a new one with `breachflow token create` and set {TOKEN_VAR}"
                    )),
                ),
                403 => (error::EXIT_FORBIDDEN, None),
                413 => (error::EXIT_INVALID_INPUT, None),
                _ => (error::EXIT_FAILURE, None),
            };
            return Err(Failure {
                exit,
                message: format!("{where_} answered {status}: {}", server_message(&answer)),
                hint,
            });
        }
    };
    output::print_raw(&response.stdout);
    output::note_raw(&response.stderr);
    for f in &response.files {
        let path = PathBuf::from(&f.path);
        // The server may only write what this command line said it would.
        if !writes.contains(&path) {
            return Err(Failure::new(
                error::EXIT_FAILURE,
                format!(
                    "the server sent a file this command does not write ({}); nothing was written",
                    f.path
                ),
            ));
        }
        let bytes = f
            .bytes()
            .map_err(|e| Failure::new(error::EXIT_FAILURE, e))?;
        crate::adapters::files::check_output(&path, &data_dir)
            .map_err(|e| Failure::new(error::EXIT_OUTPUT_REFUSED, e.to_string()))?;
        crate::adapters::files::write_private(&path, &bytes)
            .map_err(|e| Failure::new(error::EXIT_FAILURE, format!("{}: {e}", path.display())))?;
    }
    Ok(response.exit)
}

/// `token create` with no token yet: the person's name and password make one.
fn token_with_password(
    server: &Server,
    where_: &str,
    format: output::Format,
    user: &str,
    label: Option<&str>,
) -> Result<u8, Failure> {
    let password = super::commands::account::read_password(&format!("Password for {user}: "))
        .map_err(|e| Failure::new(e.exit_code(), e.to_string()))?;
    let body = serde_json::to_vec(&serde_json::json!({
        "name": user, "password": password, "label": label,
    }))
    .map_err(|e| Failure::new(error::EXIT_INTERNAL, e.to_string()))?;
    let (status, answer) = post(server, "/api/v1/tokens", "", body)
        .map_err(|e| Failure::new(error::EXIT_FAILURE, format!("cannot reach {where_}: {e}")))?;
    match status {
        200 => {
            let token: serde_json::Value = serde_json::from_slice(&answer).map_err(|e| {
                Failure::new(error::EXIT_FAILURE, format!("{where_} answered: {e}"))
            })?;
            super::commands::account::print_token(format, &token);
            Ok(0)
        }
        401 | 429 => Err(Failure::new(
            error::EXIT_UNAUTHENTICATED,
            format!("{where_}: {}", server_message(&answer)),
        )),
        _ => Err(Failure::new(
            error::EXIT_FAILURE,
            format!("{where_} answered {status}: {}", server_message(&answer)),
        )),
    }
}

/// The most a file sent with a command may hold: the largest input any command reads (a
/// bulk recipients file).
const MAX_SENT_FILE: u64 = crate::domain::bounds::MAX_REQUEST_FILE_BYTES;

fn read_limited(path: &Path) -> Result<Vec<u8>, Failure> {
    use std::io::Read;
    let fail = |e: std::io::Error| {
        Failure::new(
            error::EXIT_INVALID_INPUT,
            format!("{}: {e}", path.display()),
        )
    };
    let f = std::fs::File::open(path).map_err(fail)?;
    let mut bytes = Vec::new();
    f.take(MAX_SENT_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(fail)?;
    if bytes.len() as u64 > MAX_SENT_FILE {
        return Err(Failure::new(
            error::EXIT_INVALID_INPUT,
            format!(
                "{}: larger than the {} MB a command may send to the server",
                path.display(),
                MAX_SENT_FILE / 1_000_000
            ),
        ));
    }
    Ok(bytes)
}

/// The message of an error answer (`{"error": {"message": ...}}`), or its text.
fn server_message(body: &[u8]) -> String {
    serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["error"]["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).chars().take(300).collect())
}

/// This terminal's width, for the server's tables: COLUMNS, else the terminal's, else none.
fn columns() -> Option<u16> {
    if let Some(c) = std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.trim().parse::<u16>().ok())
    {
        return Some(c);
    }
    // SAFETY: TIOCGWINSZ writes one winsize into the struct we own; on a non-terminal it fails
    // and the struct is not read.
    unsafe {
        let mut size: libc::winsize = std::mem::zeroed();
        if libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut size) == 0 && size.ws_col > 0 {
            return Some(size.ws_col);
        }
    }
    None
}

/// POSTs `body` (JSON) to `path` on `server` with the token; returns the status and the body.
pub fn post(
    server: &Server,
    path: &str,
    token: &str,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), String> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| e.to_string())?;
    runtime.block_on(async {
        match server {
            Server::Socket(socket) => {
                let stream = tokio::net::UnixStream::connect(socket)
                    .await
                    .map_err(|e| e.to_string())?;
                exchange(stream, "localhost", path, token, body).await
            }
            Server::Remote(url) => {
                let target = Target::parse(url)?;
                let tcp = tokio::net::TcpStream::connect((target.host.as_str(), target.port))
                    .await
                    .map_err(|e| format!("{}:{}: {e}", target.host, target.port))?;
                let _ = tcp.set_nodelay(true);
                if target.tls {
                    let connector = tls_connector()?;
                    let name = rustls::pki_types::ServerName::try_from(target.host.clone())
                        .map_err(|e| format!("{}: {e}", target.host))?;
                    let tls = connector
                        .connect(name, tcp)
                        .await
                        .map_err(|e| format!("TLS with {}: {e}", target.host))?;
                    exchange(tls, &target.authority(), path, token, body).await
                } else {
                    exchange(tcp, &target.authority(), path, token, body).await
                }
            }
        }
    })
}

/// One request on a fresh connection.
async fn exchange<S>(
    stream: S,
    host: &str,
    path: &str,
    token: &str,
    body: Vec<u8>,
) -> Result<(u16, Vec<u8>), String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, connection) =
        hyper::client::conn::http1::handshake(hyper_util::rt::TokioIo::new(stream))
            .await
            .map_err(|e| e.to_string())?;
    let driver = tokio::spawn(connection);
    let mut request = hyper::Request::post(path)
        .header(hyper::header::HOST, host)
        .header(hyper::header::CONTENT_TYPE, "application/json");
    if !token.is_empty() {
        request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let response = sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())?;
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    drop(sender);
    driver.abort();
    Ok((status, bytes.to_vec()))
}

/// A server address from `--server`.
struct Target {
    tls: bool,
    host: String,
    port: u16,
}

impl Target {
    fn parse(url: &str) -> Result<Target, String> {
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(format!(
                "{url:?}: expected http://HOST:PORT or https://HOST:PORT"
            ));
        };
        let authority = rest.split('/').next().unwrap_or_default();
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.ends_with(']') || h.starts_with('[') => (
                h.trim_start_matches('[').trim_end_matches(']').to_string(),
                p.parse::<u16>()
                    .map_err(|_| format!("{url:?}: the port {p:?} is not a number"))?,
            ),
            _ => (authority.to_string(), if tls { 443 } else { 80 }),
        };
        if host.is_empty() {
            return Err(format!("{url:?}: no host"));
        }
        Ok(Target { tls, host, port })
    }

    fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }
}

/// TLS trusting the web's roots, plus the PEM certificates in `BREACHFLOW_SERVER_CA` (a
/// company's own authority, or a server's self-signed certificate).
fn tls_connector() -> Result<tokio_rustls::TlsConnector, String> {
    use rustls::pki_types::pem::PemObject;
    let mut roots = rustls::RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    if let Some(path) = std::env::var_os("BREACHFLOW_SERVER_CA") {
        let certs = rustls::pki_types::CertificateDer::pem_file_iter(&path)
            .map_err(|e| format!("BREACHFLOW_SERVER_CA {}: {e}", Path::new(&path).display()))?;
        for cert in certs {
            let cert = cert.map_err(|e| format!("BREACHFLOW_SERVER_CA: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("BREACHFLOW_SERVER_CA: {e}"))?;
        }
    }
    let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| e.to_string())?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(tokio_rustls::TlsConnector::from(std::sync::Arc::new(
        config,
    )))
}

#[cfg(test)]
mod tests {
    use super::Target;

    #[test]
    fn server_addresses_parse() {
        let t = Target::parse("https://dpo.example.com:8470").unwrap();
        assert!(t.tls);
        assert_eq!((t.host.as_str(), t.port), ("dpo.example.com", 8470));
        let t = Target::parse("http://127.0.0.1:9000/").unwrap();
        assert_eq!((t.tls, t.port), (false, 9000));
        assert_eq!(Target::parse("https://example.com").unwrap().port, 443);
        assert!(Target::parse("ftp://x").is_err());
        assert!(Target::parse("http://x:notaport").is_err());
    }
}
