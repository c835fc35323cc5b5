//! The daemon's HTTP listener (axum): `GET /metrics` (Prometheus text,
//! [`crate::metrics`]) and `GET /healthz` (200 `ok` while the history can be
//! read — and, in a cluster, while this member's lease lives — 503 with the
//! reason otherwise).

use crate::clock::Clock;
use crate::metrics::{self, JobLabel};
use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use std::sync::Arc;

#[derive(Clone)]
pub struct MetricsState {
    /// Where the runs and their points are kept (the daemon's own store).
    pub runs: Arc<dyn crate::run_store::RunStore>,
    pub jobs: Vec<JobLabel>,
    pub clock: Arc<dyn Clock>,
    /// In a cluster: this member as the daemon's last sweep saw it.
    pub cluster: Option<Arc<std::sync::Mutex<crate::cluster::View>>>,
}

impl MetricsState {
    fn cluster_view(&self) -> Option<crate::cluster::View> {
        self.cluster
            .as_ref()
            .and_then(|v| v.lock().ok().map(|v| v.clone()))
    }
}

pub fn router(s: MetricsState) -> Router {
    Router::new()
        .route("/metrics", get(metrics_page))
        .route("/healthz", get(healthz))
        .with_state(Arc::new(s))
}

/// Serve on `listener` until `shutdown` resolves.
pub async fn serve(
    listener: tokio::net::TcpListener,
    s: MetricsState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router(s))
        .with_graceful_shutdown(shutdown)
        .await
}

async fn metrics_page(State(s): State<Arc<MetricsState>>) -> impl IntoResponse {
    let now = s.clock.now();
    let st = s.clone();
    let r = tokio::task::spawn_blocking(move || metrics::collect(&*st.runs, &st.jobs)).await;
    match r {
        Ok(Ok(ms)) => (
            StatusCode::OK,
            [(
                header::CONTENT_TYPE,
                "text/plain; version=0.0.4; charset=utf-8",
            )],
            metrics::render(&ms, now) + &metrics::render_cluster(s.cluster_view().as_ref()),
        ),
        Ok(Err(e)) => (
            StatusCode::SERVICE_UNAVAILABLE,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{e}\n"),
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            format!("{e}\n"),
        ),
    }
}

async fn healthz(State(s): State<Arc<MetricsState>>) -> impl IntoResponse {
    let st = s.clone();
    match tokio::task::spawn_blocking(move || st.runs.check()).await {
        Ok(Ok(())) => match s.cluster_view() {
            None => (StatusCode::OK, "ok\n".to_string()),
            Some(v) if v.live => (
                StatusCode::OK,
                format!(
                    "ok member={} site={} owns={} members={} lease_age={:.1}s\n",
                    v.member, v.site, v.owned, v.members, v.lease_age_seconds
                ),
            ),
            Some(v) => (
                StatusCode::SERVICE_UNAVAILABLE,
                format!(
                    "cluster member {} lost its lease: it owns nothing until it joins again\n",
                    v.member
                ),
            ),
        },
        Ok(Err(e)) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
        Err(e) => (StatusCode::SERVICE_UNAVAILABLE, format!("{e}\n")),
    }
}
