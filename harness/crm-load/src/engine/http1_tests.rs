//! Unit tests of the wire format: requests, heads and every body framing.

use super::*;
use proptest::prelude::*;

fn host() -> HeaderValue {
    HeaderValue::from_static("127.0.0.1:8080")
}

#[test]
fn a_get_is_encoded_with_host_and_no_length() {
    let op = Op::get("x", "/a?b=1")
        .unwrap()
        .with_header(http::header::ACCEPT, HeaderValue::from_static("*/*"));
    let mut out = Vec::new();
    encode_request(&op, &host(), &mut out);
    assert_eq!(
        out,
        b"GET /a?b=1 HTTP/1.1\r\nhost: 127.0.0.1:8080\r\naccept: */*\r\n\r\n"
    );
}

#[test]
fn a_post_carries_its_length_and_body_even_when_empty() {
    let mut out = Vec::new();
    encode_request(&Op::post_json("x", "/l", "{}").unwrap(), &host(), &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(text.starts_with("POST /l HTTP/1.1\r\n"));
    assert!(text.contains("content-type: application/json\r\n"));
    assert!(text.ends_with("content-length: 2\r\n\r\n{}"));
    let mut out = Vec::new();
    encode_request(
        &Op::new("x", Method::POST, "/l").unwrap(),
        &host(),
        &mut out,
    );
    assert!(
        String::from_utf8(out)
            .unwrap()
            .ends_with("content-length: 0\r\n\r\n")
    );
}

fn head(text: &str) -> Head {
    parse_head(text.as_bytes(), &Method::GET).unwrap().unwrap()
}

#[test]
fn heads_give_status_headers_and_framing() {
    let h = head("HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-Id: 7\r\n\r\nhello");
    assert_eq!(h.status, 201);
    assert_eq!(h.headers["x-id"], "7");
    assert_eq!(h.framing, Framing::Length(5));
    assert_eq!(
        h.len,
        "HTTP/1.1 201 Created\r\nContent-Length: 5\r\nX-Id: 7\r\n\r\n".len()
    );
    assert!(!h.close);

    let h = head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n");
    assert_eq!(h.framing, Framing::Chunked);
    let h = head("HTTP/1.1 204 No Content\r\n\r\n");
    assert_eq!(h.framing, Framing::Empty);
    let h = head("HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 0\r\n\r\n");
    assert!(h.close);
    let h = head("HTTP/1.0 200 OK\r\n\r\n");
    assert_eq!(h.framing, Framing::UntilClose);
    assert!(h.close);
    let h = parse_head(
        b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\n",
        &Method::HEAD,
    )
    .unwrap()
    .unwrap();
    assert_eq!(h.framing, Framing::Empty);
}

#[test]
fn partial_heads_wait_and_garbage_is_an_io_error() {
    assert!(
        parse_head(b"HTTP/1.1 200 OK\r\nContent-Le", &Method::GET)
            .unwrap()
            .is_none()
    );
    assert_eq!(
        parse_head(b"SSH-2.0-OpenSSH\r\n\r\n", &Method::GET).unwrap_err(),
        ErrorClass::Io
    );
    assert_eq!(
        parse_head(
            b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
            &Method::GET
        )
        .unwrap_err(),
        ErrorClass::Io
    );
    let huge = format!("HTTP/1.1 200 OK\r\nX: {}", "a".repeat(MAX_HEAD));
    assert!(parse_head(huge.as_bytes(), &Method::GET).is_err());
}

const CHUNKED: &[u8] = b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nTrailer: x\r\n\r\nNEXT";

/// Feeds `input` to a decoder in the given piece sizes, as reads would arrive.
fn decode_in_pieces(
    input: &[u8],
    pieces: &[usize],
) -> (Result<bool, ErrorClass>, Vec<u8>, Vec<u8>) {
    let mut decoder = ChunkedDecoder::new();
    let mut buf = BytesMut::new();
    let mut out = Vec::new();
    let mut rest = input;
    let mut sizes = pieces.iter().copied().cycle();
    loop {
        let n = sizes
            .next()
            .unwrap_or(1)
            .clamp(1, rest.len().max(1))
            .min(rest.len());
        buf.extend_from_slice(&rest[..n]);
        rest = &rest[n..];
        match decoder.decode(&mut buf, &mut out) {
            Ok(true) => return (Ok(true), out, buf.to_vec()),
            Ok(false) if rest.is_empty() => return (Ok(false), out, buf.to_vec()),
            Ok(false) => {}
            Err(e) => return (Err(e), out, buf.to_vec()),
        }
    }
}

#[test]
fn a_chunked_body_is_decoded_and_what_follows_it_is_left() {
    let (done, out, left) = decode_in_pieces(CHUNKED, &[CHUNKED.len()]);
    assert_eq!(done, Ok(true));
    assert_eq!(out, b"hello, world");
    assert_eq!(left, b"NEXT");
}

#[test]
fn broken_chunked_bodies_are_io_errors() {
    let (done, ..) = decode_in_pieces(b"zz\r\nhello\r\n0\r\n\r\n", &[64]);
    assert_eq!(done, Err(ErrorClass::Io));
    let (done, ..) = decode_in_pieces(b"5\r\nhelloXX0\r\n\r\n", &[64]);
    assert_eq!(done, Err(ErrorClass::Io));
    let (done, ..) = decode_in_pieces(b"5\r\nhel", &[64]);
    assert_eq!(done, Ok(false));
}

proptest! {
    #[test]
    fn chunked_decoding_does_not_depend_on_how_reads_split_the_body(pieces in prop::collection::vec(1usize..9, 1..20)) {
        let (done, out, left) = decode_in_pieces(CHUNKED, &pieces);
        prop_assert_eq!(done, Ok(true));
        prop_assert_eq!(out, b"hello, world".to_vec());
        // Only what was already read past the body stays in the buffer.
        prop_assert!(b"NEXT".starts_with(&left));
    }
}
