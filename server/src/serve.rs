//! Running the server: in the foreground (`serve`) or on a background thread (tests), over
//! plain HTTP or TLS.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode};
use axum::response::IntoResponse as _;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, oneshot, watch};
use tokio_rustls::TlsAcceptor;
use tokio_rustls::rustls::ServerConfig;
use tracing::{debug, warn};

use crate::deployment::Deployment;
use crate::http::AppState;
use crate::tls::PeerAddr;

/// Connection limits of the built-in server (plain and TLS alike): without them a slow client
/// (slowloris) holds a socket for ever, and a thousand of them exhaust the file descriptors.
#[derive(Clone, Copy, Debug)]
pub struct ConnLimits {
    /// Connections open at once; more wait in the kernel's backlog until one closes.
    pub max_connections: usize,
    /// Time from accept to a finished TLS handshake.
    pub handshake: Duration,
    /// Time to receive a request's headers, also the idle time allowed between requests.
    pub header_read: Duration,
    /// Time to read the body and answer, once the headers are in (408 after).
    pub request: Duration,
}

impl Default for ConnLimits {
    fn default() -> Self {
        ConnLimits {
            max_connections: 256,
            handshake: Duration::from_secs(10),
            header_read: Duration::from_secs(20),
            request: Duration::from_secs(30),
        }
    }
}

/// Drops rate-limiter entries every minute while the server runs.
fn sweeper(states: Vec<AppState>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            for state in &states {
                state.housekeeping();
            }
        }
    })
}

/// Serves the API over plain HTTP on `listener` until `shutdown` completes, with the default
/// [`ConnLimits`] (the same as over TLS). Plain HTTP is for loopback: this machine, tests, or a
/// TLS-terminating reverse proxy on the same host; see [`check_plain_listen`].
pub async fn run(
    listener: TcpListener,
    state: impl Into<Deployment>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run_with(listener, state, ConnLimits::default(), shutdown).await
}

/// [`run`] with given connection limits.
pub async fn run_with(
    listener: TcpListener,
    state: impl Into<Deployment>,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_loop(listener, None, state, limits, shutdown).await
}

/// Where `serve` may listen in plain HTTP: loopback only, unless `forced` (behind a
/// TLS-terminating proxy on another interface). Anywhere else, codes, tokens and sealed
/// referrals' metadata would cross the network in clear.
pub fn check_plain_listen(addr: SocketAddr, forced: bool) -> Result<(), crate::AdminError> {
    if addr.ip().is_loopback() || forced {
        Ok(())
    } else {
        Err(crate::AdminError::Usage(
            "plain HTTP listens only on loopback (127.0.0.1 or ::1): give --tls-cert and \
             --tls-key, or --plain-http-anywhere if a TLS proxy fronts this address",
        ))
    }
}

/// Serves the API over TLS on `listener` until `shutdown` completes, with the default
/// [`ConnLimits`].
pub async fn run_tls(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    state: impl Into<Deployment>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    run_tls_with(listener, tls, state, ConnLimits::default(), shutdown).await
}

/// [`run_tls`] with given connection limits.
pub async fn run_tls_with(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    state: impl Into<Deployment>,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_loop(
        listener,
        Some(TlsAcceptor::from(tls)),
        state,
        limits,
        shutdown,
    )
    .await
}

/// The accept loop of both transports. It drives hyper itself rather than through
/// `axum::serve`, which offers no header-read timeout and no connection cap.
async fn serve_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    state: impl Into<Deployment>,
    limits: ConnLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let deployment: Deployment = state.into();
    let app = deployment.router();
    let sweeper = sweeper(deployment.states());
    let max = limits.max_connections.clamp(1, Semaphore::MAX_PERMITS);
    let slots = Arc::new(Semaphore::new(max));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // A slot first: at the cap, stop accepting (clients wait in the backlog) rather than
        // accept and drop.
        let permit = tokio::select! {
            p = slots.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (tcp, addr) = tokio::select! {
            conn = listener.accept() => match conn {
                Ok(conn) => conn,
                Err(e) => {
                    // Out of descriptors and the like: wait a little instead of spinning.
                    debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let acceptor = acceptor.clone();
        let app = app.clone();
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let _permit = permit;
            match acceptor {
                None => serve_connection(tcp, addr, app, limits, &mut stop).await,
                Some(acceptor) => {
                    let handshake = tokio::time::timeout(limits.handshake, acceptor.accept(tcp));
                    let tls = tokio::select! {
                        r = handshake => match r {
                            Ok(Ok(tls)) => tls,
                            Ok(Err(e)) => return debug!(error = %e, "TLS handshake failed"),
                            Err(_) => return debug!("TLS handshake timed out"),
                        },
                        () = stopped(&mut stop) => return,
                    };
                    serve_connection(tls, addr, app, limits, &mut stop).await;
                }
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every connection holds a slot: having them all back means all have closed.
    let _ = slots
        .acquire_many(u32::try_from(max).unwrap_or(u32::MAX))
        .await;
    sweeper.abort();
    Ok(())
}

/// One connection, plain or TLS, under the header-read and request timeouts.
async fn serve_connection<I>(
    io: I,
    addr: SocketAddr,
    app: axum::Router,
    limits: ConnLimits,
    stop: &mut watch::Receiver<bool>,
) where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let svc = TowerToHyperService::new(app);
    let service = hyper::service::service_fn(move |mut req: Request<Incoming>| {
        // What `into_make_service_with_connect_info` adds: limits per client address.
        req.extensions_mut().insert(ConnectInfo(PeerAddr(addr)));
        let call = hyper::service::Service::call(&svc, req);
        async move {
            // A body trickled in byte by byte would otherwise hold the slot.
            match tokio::time::timeout(limits.request, call).await {
                Ok(resp) => resp,
                Err(_) => {
                    warn!(outcome = "request_timeout");
                    Ok(request_timeout())
                }
            }
        }
    });
    let mut builder = http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read)
        .max_buf_size(MAX_HEADER_BUF)
        .max_headers(MAX_HEADERS);
    let mut conn = std::pin::pin!(builder.serve_connection(TokioIo::new(io), service));
    tokio::select! {
        r = conn.as_mut() => {
            if let Err(e) = r {
                debug!(error = %e, "connection ended with an error");
            }
        }
        () = stopped(stop) => {
            conn.as_mut().graceful_shutdown();
            let _ = conn.await;
        }
    }
}

/// Most header lines in one request (hyper's default is 100): more is refused with 431.
const MAX_HEADERS: usize = 32;

/// Largest read buffer for a request's head (hyper's minimum is 8 KiB): headers past it are
/// refused with 431 rather than buffered.
const MAX_HEADER_BUF: usize = 16 * 1024;

/// Resolves once the server is stopping (the guard `wait_for` returns is not `Send`).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}

fn request_timeout() -> axum::response::Response {
    (
        StatusCode::REQUEST_TIMEOUT,
        [(axum::http::header::CONNECTION, "close")],
        axum::Json(chungtay_protocol::ErrorBody {
            error: "request_timeout".into(),
            message: "the request took too long to arrive; it can be retried".into(),
        }),
    )
        .into_response()
}

/// A server on its own thread and runtime; stopped (gracefully) when dropped.
pub struct RunningServer {
    addr: SocketAddr,
    tls: bool,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<std::io::Result<()>>>,
}

impl RunningServer {
    /// Binds `listen` (port 0: any free port) and serves plain HTTP on a background thread.
    pub fn spawn(state: impl Into<Deployment>, listen: SocketAddr) -> std::io::Result<Self> {
        Self::spawn_with(state, listen, None, ConnLimits::default())
    }

    /// Like [`RunningServer::spawn`], with given connection limits (tests shorten them).
    pub fn spawn_plain_with(
        state: impl Into<Deployment>,
        listen: SocketAddr,
        limits: ConnLimits,
    ) -> std::io::Result<Self> {
        Self::spawn_with(state, listen, None, limits)
    }

    /// Like [`RunningServer::spawn`], over TLS.
    pub fn spawn_tls(
        state: impl Into<Deployment>,
        listen: SocketAddr,
        tls: Arc<ServerConfig>,
    ) -> std::io::Result<Self> {
        Self::spawn_with(state, listen, Some(tls), ConnLimits::default())
    }

    /// Like [`RunningServer::spawn_tls`], with given connection limits (tests shorten them).
    pub fn spawn_tls_with(
        state: impl Into<Deployment>,
        listen: SocketAddr,
        tls: Arc<ServerConfig>,
        limits: ConnLimits,
    ) -> std::io::Result<Self> {
        Self::spawn_with(state, listen, Some(tls), limits)
    }

    fn spawn_with(
        state: impl Into<Deployment>,
        listen: SocketAddr,
        tls: Option<Arc<ServerConfig>>,
        limits: ConnLimits,
    ) -> std::io::Result<Self> {
        let std_listener = std::net::TcpListener::bind(listen)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let is_tls = tls.is_some();
        let state: Deployment = state.into();
        let (stop, stopped) = oneshot::channel::<()>();
        let shutdown = async move {
            let _ = stopped.await;
        };
        let thread = std::thread::Builder::new()
            .name("chungtay-intake".into())
            .spawn(move || {
                let rt = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(2)
                    .enable_all()
                    .build()?;
                rt.block_on(async move {
                    let listener = TcpListener::from_std(std_listener)?;
                    match tls {
                        Some(tls) => run_tls_with(listener, tls, state, limits, shutdown).await,
                        None => run_with(listener, state, limits, shutdown).await,
                    }
                })
            })?;
        Ok(RunningServer {
            addr,
            tls: is_tls,
            stop: Some(stop),
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ADDR` (or `https://`) + `path`.
    pub fn url(&self, path: &str) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}{}", self.addr, path)
    }

    /// Stops and waits for the server thread.
    pub fn stop(mut self) -> std::io::Result<()> {
        self.shutdown()
    }

    fn shutdown(&mut self) -> std::io::Result<()> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(std::io::Error::other("server thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        let _ = self.shutdown();
    }
}
