//! Running the server: in the foreground (`serve`) or on a background thread (tests), over
//! plain HTTP or TLS.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::serve::Listener;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio_rustls::rustls::ServerConfig;

use crate::http::{AppState, router};
use crate::tls::{PeerAddr, TlsListener};

async fn serve_on<L>(
    listener: L,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: Listener<Addr = SocketAddr>,
    PeerAddr: for<'a> axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, L>>,
{
    let app = router(state.clone());
    let sweeper = tokio::spawn(async move {
        let mut every = tokio::time::interval(Duration::from_secs(60));
        loop {
            every.tick().await;
            state.housekeeping();
        }
    });
    let result = axum::serve(
        listener,
        app.into_make_service_with_connect_info::<PeerAddr>(),
    )
    .with_graceful_shutdown(shutdown)
    .await;
    sweeper.abort();
    result
}

/// Serves the API over plain HTTP on `listener` until `shutdown` completes (loopback, tests,
/// or behind a TLS-terminating reverse proxy).
pub async fn run(
    listener: TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_on(listener, state, shutdown).await
}

/// Serves the API over TLS on `listener` until `shutdown` completes.
pub async fn run_tls(
    listener: TcpListener,
    tls: Arc<ServerConfig>,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_on(TlsListener::new(listener, tls)?, state, shutdown).await
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
    pub fn spawn(state: AppState, listen: SocketAddr) -> std::io::Result<Self> {
        Self::spawn_with(state, listen, None)
    }

    /// Like [`RunningServer::spawn`], over TLS.
    pub fn spawn_tls(
        state: AppState,
        listen: SocketAddr,
        tls: Arc<ServerConfig>,
    ) -> std::io::Result<Self> {
        Self::spawn_with(state, listen, Some(tls))
    }

    fn spawn_with(
        state: AppState,
        listen: SocketAddr,
        tls: Option<Arc<ServerConfig>>,
    ) -> std::io::Result<Self> {
        let std_listener = std::net::TcpListener::bind(listen)?;
        std_listener.set_nonblocking(true)?;
        let addr = std_listener.local_addr()?;
        let is_tls = tls.is_some();
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
                        Some(tls) => run_tls(listener, tls, state, shutdown).await,
                        None => run(listener, state, shutdown).await,
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
