//! The HTTP/1.1 wire format of the engine's client, as pure functions over byte buffers:
//! encoding a request, parsing a response head (httparse, the parser hyper uses) and
//! decoding a chunked body. Kept apart from the socket so every framing case is unit-tested.

use bytes::{Buf as _, BytesMut};
use http::header::{CONNECTION, CONTENT_LENGTH, TRANSFER_ENCODING};
use http::{HeaderMap, HeaderName, HeaderValue, Method, StatusCode};

use crate::errors::ErrorClass;
use crate::op::Op;

/// Most response headers accepted.
const MAX_HEADERS: usize = 64;
/// Largest response head accepted.
pub(crate) const MAX_HEAD: usize = 64 * 1024;

/// Appends `op` as an HTTP/1.1 request to `out`.
pub(crate) fn encode_request(op: &Op, host: &HeaderValue, out: &mut Vec<u8>) {
    out.extend_from_slice(op.method.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(op.path.as_str().as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\nhost: ");
    out.extend_from_slice(host.as_bytes());
    out.extend_from_slice(b"\r\n");
    for (name, value) in &op.headers {
        if name == CONTENT_LENGTH || name == http::header::HOST {
            continue; // framing is ours
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let expects_body = matches!(op.method, Method::POST | Method::PUT | Method::PATCH);
    if !op.body.is_empty() || expects_body {
        out.extend_from_slice(b"content-length: ");
        out.extend_from_slice(op.body.len().to_string().as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(&op.body);
}

/// How the body after a head is delimited.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Framing {
    /// No body (HEAD, 204, 304).
    Empty,
    /// `content-length` bytes.
    Length(usize),
    /// `transfer-encoding: chunked`.
    Chunked,
    /// Everything until the server closes the connection.
    UntilClose,
}

/// A parsed response head.
#[derive(Debug)]
pub(crate) struct Head {
    pub(crate) status: StatusCode,
    pub(crate) headers: HeaderMap,
    /// Bytes of the head, to drop from the buffer.
    pub(crate) len: usize,
    pub(crate) framing: Framing,
    /// The connection cannot be reused after this response.
    pub(crate) close: bool,
}

/// Parses a response head at the start of `buf`; `Ok(None)` if it is not all there yet.
pub(crate) fn parse_head(buf: &[u8], method: &Method) -> Result<Option<Head>, ErrorClass> {
    let mut raw = [httparse::EMPTY_HEADER; MAX_HEADERS];
    let mut response = httparse::Response::new(&mut raw);
    let len = match response.parse(buf) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) if buf.len() < MAX_HEAD => return Ok(None),
        _ => return Err(ErrorClass::Io),
    };
    let code = response.code.ok_or(ErrorClass::Io)?;
    let status = StatusCode::from_u16(code).map_err(|_| ErrorClass::Io)?;
    let mut headers = HeaderMap::with_capacity(response.headers.len());
    for h in response.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| ErrorClass::Io)?;
        let value = HeaderValue::from_bytes(h.value).map_err(|_| ErrorClass::Io)?;
        headers.append(name, value);
    }
    let http10 = response.version == Some(0);
    let close = has_token(&headers, &CONNECTION, "close")
        || (http10 && !has_token(&headers, &CONNECTION, "keep-alive"));
    let framing = if *method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED
        || status.is_informational()
    {
        Framing::Empty
    } else if has_token(&headers, &TRANSFER_ENCODING, "chunked") {
        Framing::Chunked
    } else if let Some(value) = headers.get(CONTENT_LENGTH) {
        let n = value
            .to_str()
            .ok()
            .and_then(|v| v.trim().parse::<usize>().ok())
            .ok_or(ErrorClass::Io)?;
        Framing::Length(n)
    } else {
        Framing::UntilClose
    };
    Ok(Some(Head {
        status,
        headers,
        len,
        framing,
        close: close || framing == Framing::UntilClose,
    }))
}

fn has_token(headers: &HeaderMap, name: &HeaderName, token: &str) -> bool {
    headers.get_all(name).iter().any(|v| {
        v.to_str()
            .map(|v| v.split(',').any(|t| t.trim().eq_ignore_ascii_case(token)))
            .unwrap_or(false)
    })
}

/// Where a chunked decoder is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Chunk {
    /// Expecting a size line.
    Size,
    /// Inside a chunk, this many data bytes to go.
    Data(usize),
    /// Expecting the CRLF after a chunk's data.
    DataEnd,
    /// After the last chunk: trailer lines until an empty one.
    Trailers,
}

/// Decodes a chunked body incrementally, consuming what it can from the read buffer.
#[derive(Debug)]
pub(crate) struct ChunkedDecoder {
    state: Chunk,
}

/// Longest size or trailer line accepted.
const MAX_LINE: usize = 4096;

impl ChunkedDecoder {
    pub(crate) fn new() -> Self {
        Self { state: Chunk::Size }
    }

    /// Moves decoded data from `buf` to `out`; `Ok(true)` once the body is complete.
    pub(crate) fn decode(
        &mut self,
        buf: &mut BytesMut,
        out: &mut Vec<u8>,
    ) -> Result<bool, ErrorClass> {
        loop {
            match self.state {
                Chunk::Size => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(false);
                    };
                    let size = line[..].split(|b| *b == b';').next().unwrap_or_default();
                    let size = std::str::from_utf8(size)
                        .ok()
                        .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
                        .ok_or(ErrorClass::Io)?;
                    self.state = if size == 0 {
                        Chunk::Trailers
                    } else {
                        Chunk::Data(size)
                    };
                }
                Chunk::Data(left) => {
                    if buf.is_empty() {
                        return Ok(false);
                    }
                    let n = left.min(buf.len());
                    out.extend_from_slice(&buf[..n]);
                    buf.advance(n);
                    self.state = if n == left {
                        Chunk::DataEnd
                    } else {
                        Chunk::Data(left - n)
                    };
                }
                Chunk::DataEnd => {
                    if buf.len() < 2 {
                        return Ok(false);
                    }
                    if &buf[..2] != b"\r\n" {
                        return Err(ErrorClass::Io);
                    }
                    buf.advance(2);
                    self.state = Chunk::Size;
                }
                Chunk::Trailers => {
                    let Some(line) = take_line(buf)? else {
                        return Ok(false);
                    };
                    if line.is_empty() {
                        return Ok(true);
                    }
                }
            }
        }
    }
}

/// Takes one CRLF-terminated line (without the CRLF) off the front of `buf`.
fn take_line(buf: &mut BytesMut) -> Result<Option<BytesMut>, ErrorClass> {
    match buf.windows(2).position(|w| w == b"\r\n") {
        Some(i) => {
            let line = buf.split_to(i);
            buf.advance(2);
            Ok(Some(line))
        }
        None if buf.len() > MAX_LINE => Err(ErrorClass::Io),
        None => Ok(None),
    }
}

#[cfg(test)]
#[path = "http1_tests.rs"]
mod tests;
