//! OTLP export requests — the standard protobuf or its JSON mapping, decoded with
//! `opentelemetry-proto`'s generated types — into [`SpanRecord`]s. A malformed request is
//! refused whole, with the path of the first bad field.

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue, any_value};
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use prost::Message;

use super::span::{Kind, SpanRecord};

/// The body's encoding, from its `content-type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    /// `application/x-protobuf` or `application/json` (parameters ignored); anything else
    /// is refused.
    pub fn of(content_type: Option<&str>) -> Result<Encoding, String> {
        let ct = content_type
            .unwrap_or("")
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        match ct.as_str() {
            "application/x-protobuf" | "application/protobuf" => Ok(Encoding::Protobuf),
            "application/json" => Ok(Encoding::Json),
            "" => Err("content-type is missing; OTLP/HTTP takes application/x-protobuf or application/json".into()),
            other => Err(format!(
                "content-type {other:?} is not OTLP/HTTP's application/x-protobuf or application/json"
            )),
        }
    }
}

/// Decodes one export request.
pub fn decode(encoding: Encoding, body: &[u8]) -> Result<Vec<SpanRecord>, String> {
    let req = match encoding {
        Encoding::Protobuf => ExportTraceServiceRequest::decode(body)
            .map_err(|e| format!("not an OTLP ExportTraceServiceRequest (protobuf): {e}"))?,
        Encoding::Json => serde_json::from_slice::<ExportTraceServiceRequest>(body)
            .map_err(|e| format!("not an OTLP ExportTraceServiceRequest (JSON): {e}"))?,
    };
    spans(&req)
}

fn value(v: &Option<AnyValue>) -> Option<&any_value::Value> {
    v.as_ref().and_then(|v| v.value.as_ref())
}

fn string(attrs: &[KeyValue], key: &str) -> Option<String> {
    attrs
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| match value(&a.value)? {
            any_value::Value::StringValue(s) => Some(s.clone()),
            any_value::Value::IntValue(i) => Some(i.to_string()),
            _ => None,
        })
}

fn int(attrs: &[KeyValue], key: &str) -> Option<i64> {
    attrs
        .iter()
        .find(|a| a.key == key)
        .and_then(|a| match value(&a.value)? {
            any_value::Value::IntValue(i) => Some(*i),
            any_value::Value::StringValue(s) => s.parse().ok(),
            any_value::Value::DoubleValue(d) => Some(*d as i64),
            _ => None,
        })
}

fn id(bytes: &[u8], len: usize, path: &str) -> Result<String, String> {
    if bytes.len() != len {
        return Err(format!(
            "{path}: {} bytes, an OTLP id has {len}",
            bytes.len()
        ));
    }
    if bytes.iter().all(|b| *b == 0) {
        return Err(format!("{path}: all zero"));
    }
    Ok(hex::encode(bytes))
}

/// The spans of a decoded request.
pub fn spans(req: &ExportTraceServiceRequest) -> Result<Vec<SpanRecord>, String> {
    let mut out = Vec::new();
    for (r, rs) in req.resource_spans.iter().enumerate() {
        let service = rs
            .resource
            .as_ref()
            .and_then(|res| string(&res.attributes, "service.name"))
            .unwrap_or_else(|| "unknown".into());
        for (s, ss) in rs.scope_spans.iter().enumerate() {
            for (i, sp) in ss.spans.iter().enumerate() {
                let path = format!("resource_spans[{r}].scope_spans[{s}].spans[{i}]");
                let parent_id = if sp.parent_span_id.is_empty() {
                    String::new()
                } else {
                    id(&sp.parent_span_id, 8, &format!("{path}.parent_span_id"))?
                };
                if sp.end_time_unix_nano < sp.start_time_unix_nano {
                    return Err(format!("{path}: ends before it starts"));
                }
                let kind = match SpanKind::try_from(sp.kind).unwrap_or(SpanKind::Internal) {
                    SpanKind::Server => Kind::Server,
                    SpanKind::Client => Kind::Client,
                    SpanKind::Producer => Kind::Producer,
                    SpanKind::Consumer => Kind::Consumer,
                    _ => Kind::Internal,
                };
                let a = &sp.attributes;
                out.push(SpanRecord {
                    trace_id: id(&sp.trace_id, 16, &format!("{path}.trace_id"))?,
                    span_id: id(&sp.span_id, 8, &format!("{path}.span_id"))?,
                    parent_id,
                    service: service.clone(),
                    name: sp.name.clone(),
                    kind,
                    start_ns: sp.start_time_unix_nano,
                    end_ns: sp.end_time_unix_nano,
                    db: string(a, crm_telemetry::names::DB_SYSTEM).is_some(),
                    wait: string(a, crm_telemetry::names::WAIT),
                    peer: string(a, crm_telemetry::names::PEER_SERVICE),
                    lag_us: int(a, crm_telemetry::names::LAG_US),
                    status: int(a, crm_telemetry::names::HTTP_STATUS),
                });
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const JSON: &str = r#"{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"gateway"}}]},
      "scopeSpans":[{"spans":[{"traceId":"5b8efff798038103d269b633813fc60c","spanId":"eee19b7ec3c1b174",
        "name":"GET /api/v1/leads","kind":2,"startTimeUnixNano":"1544712660000000000","endTimeUnixNano":"1544712661000000000",
        "attributes":[{"key":"http.response.status_code","value":{"intValue":"200"}}]}]}]}]}"#;

    #[test]
    fn the_json_mapping_is_decoded_and_bad_requests_name_the_field() {
        let spans = decode(Encoding::Json, JSON.as_bytes()).expect("valid OTLP JSON");
        assert_eq!(spans.len(), 1);
        let s = &spans[0];
        assert_eq!(s.trace_id, "5b8efff798038103d269b633813fc60c");
        assert_eq!(
            (s.service.as_str(), s.kind, s.status),
            ("gateway", Kind::Server, Some(200))
        );
        assert_eq!(s.duration_us(), 1_000_000.0);

        let e = decode(Encoding::Protobuf, b"\xff\xff\xff").unwrap_err();
        assert!(e.contains("protobuf"), "{e}");
        let e = decode(Encoding::Json, b"{\"resourceSpans\": 3}").unwrap_err();
        assert!(e.contains("JSON"), "{e}");
        let short = JSON.replace("eee19b7ec3c1b174", "eee1");
        let e = decode(Encoding::Json, short.as_bytes()).unwrap_err();
        assert!(e.contains("spans[0]") || e.contains("JSON"), "{e}");
        assert!(Encoding::of(Some("text/plain")).is_err());
        assert_eq!(
            Encoding::of(Some("application/x-protobuf")),
            Ok(Encoding::Protobuf)
        );
    }
}
