//! The address load is sent to, refused unless it is plain HTTP on the loopback interface:
//! this crate must never send load anywhere but this machine (or containers published on it).

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use http::HeaderValue;
use http::uri::{Scheme, Uri};
use serde::{Serialize, Serializer};

use crate::LoadError;

/// A validated load target: `http://127.x.y.z:port`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    addr: SocketAddr,
    base_url: String,
    host: HeaderValue,
}

impl Target {
    /// Parses `http://127.0.0.1:PORT` (or `http://localhost:PORT`; a trailing `/` is allowed).
    /// Any other scheme, host or a path is refused.
    pub fn parse(url: &str) -> Result<Self, LoadError> {
        let refuse = || LoadError::Target(url.to_owned());
        let uri: Uri = url.parse().map_err(|_| refuse())?;
        if uri.scheme() != Some(&Scheme::HTTP) {
            return Err(refuse());
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(refuse());
        }
        let authority = uri.authority().ok_or_else(refuse)?;
        let ip = match authority.host() {
            "localhost" => Ipv4Addr::LOCALHOST,
            h => h.parse::<Ipv4Addr>().map_err(|_| refuse())?,
        };
        let port = authority.port_u16().unwrap_or(80);
        Self::from_addr(SocketAddr::V4(SocketAddrV4::new(ip, port))).map_err(|_| refuse())
    }

    /// A target from a socket address, which must be IPv4 loopback.
    pub fn from_addr(addr: SocketAddr) -> Result<Self, LoadError> {
        match addr {
            SocketAddr::V4(v4) if v4.ip().is_loopback() && v4.port() != 0 => {
                let authority = format!("{}:{}", v4.ip(), v4.port());
                Ok(Self {
                    addr,
                    base_url: format!("http://{authority}"),
                    host: HeaderValue::from_str(&authority).expect("an ip:port is a valid header"),
                })
            }
            _ => Err(LoadError::Target(addr.to_string())),
        }
    }

    /// The socket address connections go to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://ip:port`, without a trailing slash (the host goose joins paths to).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The `Host` header every request carries.
    pub(crate) fn host_header(&self) -> &HeaderValue {
        &self.host
    }
}

impl Serialize for Target {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.base_url)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_http_targets_are_accepted() {
        let t = Target::parse("http://127.0.0.1:8080/").unwrap();
        assert_eq!(t.addr(), "127.0.0.1:8080".parse().unwrap());
        assert_eq!(t.base_url(), "http://127.0.0.1:8080");
        assert_eq!(
            Target::parse("http://localhost:9").unwrap().base_url(),
            "http://127.0.0.1:9"
        );
        assert!(Target::parse("http://127.1.2.3:80").is_ok());
    }

    #[test]
    fn other_hosts_schemes_and_paths_are_refused() {
        for url in [
            "https://127.0.0.1:8443",
            "http://10.0.0.1:80",
            "http://192.168.1.1:80",
            "http://example.com:80",
            "http://[::1]:80",
            "http://127.0.0.1:80/api",
            "http://127.0.0.1:0",
            "127.0.0.1:80",
        ] {
            assert!(Target::parse(url).is_err(), "{url} was accepted");
        }
        assert!(Target::from_addr("172.17.0.2:80".parse().unwrap()).is_err());
    }
}
