//! `breachflow serve`: one long-lived process owns the store and serves the team.
//!
//! It keeps sled open (no per-command open and log recovery), answers command lines on a Unix
//! socket in the data directory (0600) and over HTTP (loopback, or HTTPS elsewhere), and knows
//! who is asking: every request is signed in (an API token, or a browser session), every
//! command is checked against the permission table, and every event it records carries the
//! signed-in person. The pieces:
//! - `routes`: the routes, each with its gate, in one table the router is built from;
//! - `auth`: tokens, sessions, CSRF, sign-in throttling;
//! - `http`: security headers, size limits and the request log, on every response;
//! - `pages`: the browser workspace (sign-in, dashboard, incident pages), made by
//!   `render::pages`.
//!
//! Commands run on blocking threads through `cli::remote`, so they print what they print at a
//! terminal. SIGTERM or Ctrl-C stops accepting, lets what is in flight finish, then closes the
//! store.

pub mod auth;
pub mod http;
pub mod pages;
pub mod routes;

use std::net::SocketAddr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use crate::adapters::store::SledStore;
use crate::app::StoreError;

/// The socket in the data directory.
pub use crate::cli::client::SOCKET;
/// The file holding the server's process id while it runs.
pub const PID_FILE: &str = "serve.pid";

/// How long a stopping server waits for requests in flight (a bulk send can take minutes).
const DRAIN: Duration = Duration::from_secs(600);

/// What `breachflow serve` was asked.
#[derive(Debug, Clone)]
pub struct Config {
    pub data_dir: PathBuf,
    pub listen: SocketAddr,
    pub tls: Option<(PathBuf, PathBuf)>,
    pub insecure_http: bool,
    pub regimes_dir: Option<PathBuf>,
    pub templates_dir: Option<PathBuf>,
    pub session_minutes: u32,
}

/// Why the server did not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Refused(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ServerError {
    let what = what.into();
    move |source| ServerError::Io { what, source }
}

/// What every request shares.
pub struct Shared {
    pub store: SledStore,
    pub data_dir: PathBuf,
    pub regimes_dir: Option<PathBuf>,
    pub templates_dir: Option<PathBuf>,
    pub rulebook: Arc<crate::domain::regime::Rulebook>,
    pub templates: Arc<crate::render::template::TemplateSet>,
    /// The workspace's page templates.
    pub pages: crate::render::pages::Pages,
    pub sessions: auth::Sessions,
    pub throttle: auth::Throttle,
    /// Taken shared by every command, and exclusively by the few that rewrite the store's
    /// derived trees wholesale (`audit repair`, `bundle import`).
    pub exclusive: std::sync::RwLock<()>,
    /// Cookies get `Secure` (the server speaks HTTPS).
    pub tls: bool,
    pub started: std::time::Instant,
}

/// Runs the server until SIGTERM or Ctrl-C. `ready` is told the addresses once it listens.
pub fn run(config: Config, ready: impl FnOnce(&str)) -> Result<(), ServerError> {
    if !config.listen.ip().is_loopback() && config.tls.is_none() && !config.insecure_http {
        return Err(ServerError::Refused(format!(
            "{} is not a loopback address: people's passwords and tokens would cross the network readable. Give --tls-cert and --tls-key (or, knowingly, --insecure-http)",
            config.listen
        )));
    }
    // Read once: a broken regime or template is found at start, not by the first command.
    let rulebook = crate::domain::regime::Rulebook::load(config.regimes_dir.as_deref())
        .map_err(|e| ServerError::Refused(format!("the regimes: {e}")))?;
    let templates = crate::adapters::files::templates(config.templates_dir.as_deref())
        .map_err(|e| ServerError::Refused(format!("the templates: {e}")))?;
    let pages = crate::render::pages::Pages::builtin()
        .map_err(|e| ServerError::Refused(format!("the workspace's pages: {e}")))?;
    let store = SledStore::open(&config.data_dir)?;
    let dir = store.dir().to_path_buf();
    let socket = dir.join(SOCKET);
    // We hold sled's lock on the directory: a socket or pid file there is a dead server's.
    let _ = std::fs::remove_file(&socket);
    let pid = dir.join(PID_FILE);
    crate::adapters::files::write_private(&pid, format!("{}\n", std::process::id()).as_bytes())
        .map_err(io(format!("{}", pid.display())))?;
    let shared = Arc::new(Shared {
        store,
        data_dir: dir.clone(),
        regimes_dir: config.regimes_dir.clone(),
        templates_dir: config.templates_dir.clone(),
        rulebook: Arc::new(rulebook),
        templates: Arc::new(templates),
        pages,
        sessions: auth::Sessions::new(Duration::from_secs(u64::from(config.session_minutes) * 60)),
        throttle: auth::Throttle::default(),
        exclusive: std::sync::RwLock::new(()),
        tls: config.tls.is_some(),
        started: std::time::Instant::now(),
    });
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .thread_name("breachflow-serve")
        // Commands run on blocking threads, each keeping its parsed grammar and its share of
        // the allocator: at most 32 at once (on a few cores more would only queue for a core,
        // and would raise the server's memory with every burst). Later requests wait their turn.
        .max_blocking_threads(32)
        .build()
        .map_err(io("the server's runtime"))?;
    let result = runtime.block_on(serve(shared.clone(), &config, &socket, ready));
    let _ = std::fs::remove_file(&socket);
    let _ = std::fs::remove_file(&pid);
    // Requests still running after the drain are given a moment; the store closes with `shared`.
    runtime.shutdown_timeout(Duration::from_secs(5));
    result
}

async fn serve(
    shared: Arc<Shared>,
    config: &Config,
    socket: &Path,
    ready: impl FnOnce(&str),
) -> Result<(), ServerError> {
    let app = routes::router(shared.clone());
    let unix =
        tokio::net::UnixListener::bind(socket).map_err(io(format!("{}", socket.display())))?;
    std::fs::set_permissions(socket, std::fs::Permissions::from_mode(0o600))
        .map_err(io(format!("{}", socket.display())))?;
    let tcp = std::net::TcpListener::bind(config.listen)
        .map_err(io(format!("listening on {}", config.listen)))?;
    tcp.set_nonblocking(true)
        .map_err(io(format!("listening on {}", config.listen)))?;
    let bound = tcp
        .local_addr()
        .map_err(io(format!("listening on {}", config.listen)))?;
    let scheme = if config.tls.is_some() {
        "https"
    } else {
        "http"
    };
    if config.insecure_http && !bound.ip().is_loopback() {
        http::log_line(&serde_json::json!({"event": "insecure_http",
            "listen": bound.to_string(),
            "warning": "plain HTTP on a non-loopback address: passwords and tokens cross the network readable"}));
    }
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let handle = axum_server::Handle::<SocketAddr>::new();
    let tcp_server = {
        let app = app
            .clone()
            .into_make_service_with_connect_info::<SocketAddr>();
        let handle = handle.clone();
        match &config.tls {
            Some((cert, key)) => {
                let tls = axum_server::tls_rustls::RustlsConfig::from_pem_file(cert, key)
                    .await
                    .map_err(io(format!(
                        "the TLS certificate {} and key {}",
                        cert.display(),
                        key.display()
                    )))?;
                let server = axum_server::from_tcp_rustls(tcp, tls)
                    .map_err(io("the TLS listener"))?
                    .handle(handle);
                tokio::spawn(async move { server.serve(app).await })
            }
            None => {
                let server = axum_server::from_tcp(tcp)
                    .map_err(io("the HTTP listener"))?
                    .handle(handle);
                tokio::spawn(async move { server.serve(app).await })
            }
        }
    };
    let unix_server = {
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            axum::serve(unix, app)
                .with_graceful_shutdown(async move {
                    let _ = stop.wait_for(|s| *s).await;
                })
                .await
        })
    };
    // Listened for before the server says it is ready: a SIGTERM sent as soon as it is must
    // stop it gracefully, not kill it by the default action.
    let stopping = stop_signal();
    ready(&format!("{scheme}://{bound} and {}", socket.display()));
    http::log_line(
        &serde_json::json!({"event": "started", "listen": format!("{scheme}://{bound}"),
        "socket": socket.display().to_string(), "pid": std::process::id()}),
    );
    stopping.await;
    http::log_line(&serde_json::json!({"event": "stopping", "drain_seconds": DRAIN.as_secs()}));
    let _ = stop_tx.send(true);
    handle.graceful_shutdown(Some(DRAIN));
    let _ = tokio::time::timeout(DRAIN, async {
        let _ = unix_server.await;
        let _ = tcp_server.await;
    })
    .await;
    http::log_line(&serde_json::json!({"event": "stopped"}));
    Ok(())
}

/// SIGTERM (systemd, kill) or SIGINT (Ctrl-C): the handlers are installed when this is called
/// (inside the runtime), and the future ends when one arrives.
fn stop_signal() -> impl std::future::Future<Output = ()> {
    use tokio::signal::unix::{SignalKind, signal};
    let handlers = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    );
    async move {
        let (Ok(mut term), Ok(mut int)) = handlers else {
            // Without signal handling the server can only be killed; it still never loses a
            // committed write.
            std::future::pending::<()>().await;
            return;
        };
        tokio::select! {
            _ = term.recv() => {}
            _ = int.recv() => {}
        }
    }
}
