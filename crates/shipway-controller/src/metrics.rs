//! The controller's Prometheus metrics (`OpenMetrics` text through `prometheus-client`), named
//! after Argo CD's where one exists (`argocd_app_info` → `shipway_app_info`).

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

/// `shipway_app_info`'s labels.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AppInfo {
    /// The app's name.
    pub name: String,
    /// Its destination namespace.
    pub namespace: String,
    /// Its Argo CD project (`default`).
    pub project: String,
    /// `Healthy`, `Progressing`, `Degraded`, …
    pub health_status: String,
    /// `Synced`, `OutOfSync`, `Unknown`.
    pub sync_status: String,
}

/// Labels of one app and a sync's phase.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AppPhase {
    /// The app's name.
    pub name: String,
    /// `Succeeded`, `Failed`.
    pub phase: String,
}

/// Labels of one app.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct AppName {
    /// The app's name.
    pub name: String,
}

/// Labels of a webhook delivery.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct Delivery {
    /// `github`, `gitlab`, `gitea`, `bitbucket-server`, `generic`, `unknown`.
    pub provider: String,
    /// `accepted`, `unauthorized`, `ignored`, `invalid`.
    pub result: String,
}

/// Labels of a Kubernetes API request.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct ApiRequest {
    /// `get`, `watch`, `create`, `update`, `patch`, `delete`.
    pub verb: String,
    /// The HTTP status code, or `error` when no response came.
    pub code: String,
}

/// A tower layer for the kube client that counts every API request by verb and code
/// (`shipway_kubernetes_api_requests_total`).
#[derive(Debug, Clone)]
pub struct ApiMetricsLayer {
    requests: Family<ApiRequest, Counter>,
}

impl<S> tower::Layer<S> for ApiMetricsLayer {
    type Service = ApiMetrics<S>;

    fn layer(&self, inner: S) -> ApiMetrics<S> {
        ApiMetrics {
            inner,
            requests: self.requests.clone(),
        }
    }
}

/// The service [`ApiMetricsLayer`] wraps a client's stack in.
#[derive(Debug, Clone)]
pub struct ApiMetrics<S> {
    inner: S,
    requests: Family<ApiRequest, Counter>,
}

/// The Kubernetes verb of a request, as far as the method and a watch parameter tell it.
fn verb<B>(request: &http::Request<B>) -> &'static str {
    let watch = request
        .uri()
        .query()
        .is_some_and(|q| q.split('&').any(|p| p == "watch=true" || p == "watch=1"));
    match *request.method() {
        http::Method::GET if watch => "watch",
        http::Method::GET => "get",
        http::Method::POST => "create",
        http::Method::PUT => "update",
        http::Method::PATCH => "patch",
        http::Method::DELETE => "delete",
        _ => "other",
    }
}

impl<S, B, R> tower::Service<http::Request<B>> for ApiMetrics<S>
where
    S: tower::Service<http::Request<B>, Response = http::Response<R>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn std::future::Future<Output = Result<S::Response, S::Error>> + Send + 'static>,
    >;

    fn poll_ready(
        &mut self,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let verb = verb(&request);
        let requests = self.requests.clone();
        let future = self.inner.call(request);
        Box::pin(async move {
            let result = future.await;
            let code = match &result {
                Ok(response) => response.status().as_u16().to_string(),
                Err(_) => "error".to_string(),
            };
            requests
                .get_or_create(&ApiRequest {
                    verb: verb.to_string(),
                    code,
                })
                .inc();
            result
        })
    }
}

/// Every metric the controller exports.
#[derive(Debug)]
pub struct Metrics {
    /// The registry `/metrics` encodes.
    pub registry: Registry,
    /// `shipway_app_info`.
    pub app_info: Family<AppInfo, Gauge>,
    /// `shipway_app_sync_total`.
    pub sync_total: Family<AppPhase, Counter>,
    /// `shipway_app_reconcile_seconds`.
    pub reconcile_seconds: Family<AppName, Histogram>,
    /// `shipway_render_seconds`.
    pub render_seconds: Histogram,
    /// `shipway_plan_seconds`.
    pub plan_seconds: Histogram,
    /// `shipway_apply_seconds` (the whole sync: apply, hooks, prune, health wait).
    pub apply_seconds: Histogram,
    /// `shipway_health_wait_seconds`.
    pub health_wait_seconds: Histogram,
    /// `shipway_commit_to_applied_seconds`: commit time to the end of its sync.
    pub commit_to_applied_seconds: Histogram,
    /// `shipway_git_fetch_seconds`.
    pub git_fetch_seconds: Histogram,
    /// `shipway_webhook_deliveries_total`.
    pub webhook_deliveries: Family<Delivery, Counter>,
    /// `shipway_kubernetes_api_requests_total`, counted by [`Metrics::api_layer`].
    pub api_requests: Family<ApiRequest, Counter>,
}

fn seconds_buckets() -> impl Iterator<Item = f64> {
    [
        0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0,
    ]
    .into_iter()
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("shipway");
        let app_info = Family::<AppInfo, Gauge>::default();
        registry.register(
            "app_info",
            "Information about an app: one series per app with its health and sync status",
            app_info.clone(),
        );
        let sync_total = Family::<AppPhase, Counter>::default();
        registry.register(
            "app_sync",
            "Sync operations by app and phase",
            sync_total.clone(),
        );
        let reconcile_seconds =
            Family::<AppName, Histogram>::new_with_constructor(
                || Histogram::new(seconds_buckets()),
            );
        registry.register(
            "app_reconcile_seconds",
            "Time of one reconcile of an app (fetch, render, plan, and the sync when one runs)",
            reconcile_seconds.clone(),
        );
        let histogram = |registry: &mut Registry, name: &str, help: &str| {
            let h = Histogram::new(seconds_buckets());
            registry.register(name, help, h.clone());
            h
        };
        let render_seconds = histogram(&mut registry, "render_seconds", "Time to render an app");
        let plan_seconds = histogram(
            &mut registry,
            "plan_seconds",
            "Time to plan an app against the cluster",
        );
        let apply_seconds = histogram(
            &mut registry,
            "apply_seconds",
            "Time of a sync: apply, hooks, prune and health wait",
        );
        let health_wait_seconds = histogram(
            &mut registry,
            "health_wait_seconds",
            "Time from the last apply of a sync until the app was healthy",
        );
        let commit_to_applied_seconds = histogram(
            &mut registry,
            "commit_to_applied_seconds",
            "Time from a commit's timestamp until its sync finished",
        );
        let git_fetch_seconds = histogram(
            &mut registry,
            "git_fetch_seconds",
            "Time to fetch a repository and resolve a revision",
        );
        let webhook_deliveries = Family::<Delivery, Counter>::default();
        registry.register(
            "webhook_deliveries",
            "Webhook deliveries by provider and result",
            webhook_deliveries.clone(),
        );
        let api_requests = Family::<ApiRequest, Counter>::default();
        registry.register(
            "kubernetes_api_requests",
            "Kubernetes API requests by verb and HTTP status code",
            api_requests.clone(),
        );
        Metrics {
            registry,
            app_info,
            sync_total,
            reconcile_seconds,
            render_seconds,
            plan_seconds,
            apply_seconds,
            health_wait_seconds,
            commit_to_applied_seconds,
            git_fetch_seconds,
            webhook_deliveries,
            api_requests,
        }
    }
}

impl Metrics {
    /// The layer that counts the kube client's requests into these metrics.
    pub fn api_layer(&self) -> ApiMetricsLayer {
        ApiMetricsLayer {
            requests: self.api_requests.clone(),
        }
    }

    /// The `OpenMetrics` text of every metric.
    pub fn encode(&self) -> String {
        let mut out = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut out, &self.registry);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_those_the_dashboard_and_rules_query() {
        let metrics = Metrics::default();
        metrics
            .app_info
            .get_or_create(&AppInfo {
                name: "web".into(),
                namespace: "shop".into(),
                project: "default".into(),
                health_status: "Healthy".into(),
                sync_status: "Synced".into(),
            })
            .set(1);
        metrics
            .sync_total
            .get_or_create(&AppPhase {
                name: "web".into(),
                phase: "Succeeded".into(),
            })
            .inc();
        metrics.render_seconds.observe(0.01);
        let text = metrics.encode();
        assert!(text.contains("shipway_app_info{name=\"web\",namespace=\"shop\",project=\"default\",health_status=\"Healthy\",sync_status=\"Synced\"} 1"), "{text}");
        assert!(
            text.contains("shipway_app_sync_total{name=\"web\",phase=\"Succeeded\"} 1"),
            "{text}"
        );
        assert!(text.contains("shipway_render_seconds_bucket"), "{text}");
    }
}
