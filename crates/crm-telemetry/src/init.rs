//! The one set-up every CRM binary calls first: logs to stderr (`RUST_LOG`, text or JSON),
//! and span export when configured.
//!
//! | variable | meaning |
//! |---|---|
//! | `CRM_OTLP_ENDPOINT` | base URL of an OTLP/HTTP receiver (`http://127.0.0.1:4318`); spans go to `<it>/v1/traces` as protobuf. Unset: tracing off. |
//! | `CRM_TRACE_SAMPLE_RATIO` | share of *new* traces to keep, 0–1 (default 1); a caller's `traceparent` decides for the requests it sends |
//! | `OTEL_BSP_*` | the batch exporter's queue, batch size and delay (OpenTelemetry's standard variables) |

use std::sync::atomic::Ordering;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{Protocol, WithExportConfig};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, Sampler, SdkTracerProvider,
};
use tracing::Level;
use tracing_subscriber::filter::{EnvFilter, Targets, filter_fn};
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{Layer, Registry};

pub const ENDPOINT_VAR: &str = "CRM_OTLP_ENDPOINT";
pub const RATIO_VAR: &str = "CRM_TRACE_SAMPLE_RATIO";

/// The OTLP/HTTP path of traces under a receiver's base URL.
pub const TRACES_PATH: &str = "/v1/traces";

/// Spans wait at most this long in the exporter's queue: a benchmark run's spans reach the
/// receiver within a second of its end.
const EXPORT_DELAY: Duration = Duration::from_millis(500);
/// Room for a few seconds of fully sampled load (~20 spans a request at a few hundred
/// requests a second) before spans are dropped.
const QUEUE: usize = 65_536;
const BATCH: usize = 4_096;

#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("{RATIO_VAR}={0:?} is not a number between 0 and 1")]
    Ratio(String),
    #[error("{ENDPOINT_VAR}={0:?} is not an http:// URL")]
    Endpoint(String),
    #[error("the OTLP exporter: {0}")]
    Exporter(String),
}

/// Where spans go and which new traces are kept.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// The receiver's traces URL; `None`: tracing off.
    pub endpoint: Option<String>,
    pub sample_ratio: f64,
}

impl Config {
    /// From `CRM_OTLP_ENDPOINT` and `CRM_TRACE_SAMPLE_RATIO`.
    pub fn from_env() -> Result<Config, TelemetryError> {
        Self::parse(
            std::env::var(ENDPOINT_VAR).ok().as_deref(),
            std::env::var(RATIO_VAR).ok().as_deref(),
        )
    }

    /// From the two variables' values.
    pub fn parse(endpoint: Option<&str>, ratio: Option<&str>) -> Result<Config, TelemetryError> {
        let sample_ratio = match ratio.map(str::trim).filter(|r| !r.is_empty()) {
            None => 1.0,
            Some(r) => r
                .parse::<f64>()
                .ok()
                .filter(|x| (0.0..=1.0).contains(x))
                .ok_or_else(|| TelemetryError::Ratio(r.to_owned()))?,
        };
        let endpoint = match endpoint.map(str::trim).filter(|e| !e.is_empty()) {
            None => None,
            Some(e) if e.starts_with("http://") || e.starts_with("https://") => {
                let base = e.trim_end_matches('/');
                Some(if base.ends_with(TRACES_PATH) {
                    base.to_owned()
                } else {
                    format!("{base}{TRACES_PATH}")
                })
            }
            Some(e) => return Err(TelemetryError::Endpoint(e.to_owned())),
        };
        Ok(Config {
            endpoint,
            sample_ratio,
        })
    }
}

/// Keeps the exporter alive; [`Telemetry::shutdown`] (or dropping it) sends what is queued.
#[must_use = "dropping it stops the span export"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Whether spans are exported.
    pub fn enabled(&self) -> bool {
        self.provider.is_some()
    }

    /// Exports the queued spans and stops the exporter.
    pub fn shutdown(mut self) {
        self.stop();
    }

    fn stop(&mut self) {
        if let Some(p) = self.provider.take() {
            crate::ENABLED.store(false, Ordering::Relaxed);
            if let Err(e) = p.shutdown() {
                eprintln!("span export did not shut down cleanly: {e}");
            }
        }
    }
}

impl Drop for Telemetry {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Only our own crates' spans are exported: a dependency's spans would say nothing the
/// breakdown can use and cost the exporter as much as ours.
fn ours(target: &str) -> bool {
    target.starts_with("crm_") || target.starts_with("gateway")
}

/// The tracer provider of a configuration with an endpoint.
pub fn provider(
    service: &str,
    endpoint: &str,
    ratio: f64,
) -> Result<SdkTracerProvider, TelemetryError> {
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(Protocol::HttpBinary)
        .with_endpoint(endpoint)
        .with_timeout(Duration::from_secs(5))
        .build()
        .map_err(|e| TelemetryError::Exporter(e.to_string()))?;
    let batch = BatchConfigBuilder::default()
        .with_max_queue_size(QUEUE)
        .with_max_export_batch_size(BATCH)
        .with_scheduled_delay(EXPORT_DELAY)
        .build();
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(batch)
        .build();
    let resource = Resource::builder_empty()
        .with_service_name(service.to_owned())
        .with_attribute(opentelemetry::KeyValue::new(
            "process.pid",
            i64::from(std::process::id()),
        ))
        .build();
    Ok(SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_sampler(Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(
            ratio,
        ))))
        .with_resource(resource)
        .build())
}

/// Installs the global subscriber of a CRM process named `service` (the OpenTelemetry
/// `service.name`: `gateway`, `customers`, …, `monolith`): logs filtered by `RUST_LOG`
/// (else `default_filter`) in `log_format` (`text` or `json`), plus span export when
/// [`Config::from_env`] has an endpoint. A second call in one process (tests) keeps the first
/// subscriber.
pub fn init(
    service: &str,
    log_format: &str,
    default_filter: &str,
) -> Result<Telemetry, TelemetryError> {
    init_with(service, log_format, default_filter, &Config::from_env()?)
}

/// [`init`] with an explicit configuration.
pub fn init_with(
    service: &str,
    log_format: &str,
    default_filter: &str,
    config: &Config,
) -> Result<Telemetry, TelemetryError> {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(default_filter));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let fmt: Box<dyn Layer<Registry> + Send + Sync> = if log_format == "json" {
        Box::new(fmt.json().with_filter(filter))
    } else {
        Box::new(fmt.with_filter(filter))
    };
    let Some(endpoint) = &config.endpoint else {
        let _ = tracing_subscriber::registry().with(fmt).try_init();
        return Ok(Telemetry { provider: None });
    };
    let provider = provider(service, endpoint, config.sample_ratio)?;
    let tracer = provider.tracer("crm");
    // Spans only: a log line inside a span would become a span event, which the breakdown
    // does not read and the exporter would pay for.
    let otel = tracing_opentelemetry::layer()
        .with_tracer(tracer.clone())
        .with_tracked_inactivity(false)
        .with_location(false)
        .with_threads(false)
        .with_level(false)
        .with_target(false)
        .with_filter(filter_fn(|m| {
            m.is_span() && *m.level() <= Level::INFO && ours(m.target())
        }));
    let sql = crate::sql::SqlLayer::new(tracer).with_filter(
        Targets::new()
            .with_target(crate::sql::STATEMENTS, Level::DEBUG)
            .with_target(crate::sql::ACQUIRES, Level::DEBUG),
    );
    let installed = tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .with(sql)
        .try_init()
        .is_ok();
    if !installed {
        // Another subscriber was there first (a test binary): export nothing rather than
        // claim spans that no layer of ours will see.
        let _ = provider.shutdown();
        return Ok(Telemetry { provider: None });
    }
    crate::ENABLED.store(true, Ordering::Relaxed);
    tracing::info!(endpoint, ratio = config.sample_ratio, "exporting spans");
    Ok(Telemetry {
        provider: Some(provider),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_environment_is_read_and_bad_values_name_their_variable() {
        let off = Config::parse(None, None).unwrap();
        assert_eq!(off.endpoint, None);
        assert_eq!(off.sample_ratio, 1.0);
        let on = Config::parse(Some("http://127.0.0.1:4318/"), Some("0.25")).unwrap();
        assert_eq!(
            on.endpoint.as_deref(),
            Some("http://127.0.0.1:4318/v1/traces")
        );
        assert_eq!(on.sample_ratio, 0.25);
        let full = Config::parse(Some("http://h:1/v1/traces"), None).unwrap();
        assert_eq!(full.endpoint.as_deref(), Some("http://h:1/v1/traces"));
        let e = Config::parse(None, Some("1.5")).unwrap_err().to_string();
        assert!(e.contains(RATIO_VAR), "{e}");
        let e = Config::parse(Some("127.0.0.1:4318"), None)
            .unwrap_err()
            .to_string();
        assert!(e.contains(ENDPOINT_VAR), "{e}");
    }
}
