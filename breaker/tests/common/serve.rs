//! A runtime and a real server on 127.0.0.1 for the tests that serve HTTP.

use axum::Router;

/// A runtime with two workers (one for a handler that blocks it, one for
/// the rest), timers and I/O on.
pub fn two_workers() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a tokio runtime")
}

/// Serves `app` on 127.0.0.1 from a task of the current runtime; its
/// address.
pub async fn serve(app: Router) -> std::net::SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port on 127.0.0.1");
    let address = listener.local_addr().expect("the listener's address");
    tokio::spawn(async move { axum::serve(listener, app).await });
    address
}
