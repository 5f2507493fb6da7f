//! `--listen` and `--admin-listen`: `HOST:PORT`, where HOST is an IP
//! address or a name the system resolves (`localhost:8080`), and binding
//! the first of its addresses that can be bound.

use std::net::{SocketAddr, ToSocketAddrs};

use tokio::net::TcpListener;

use crate::exit::CliError;

/// An address to listen on, as given and as resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListenAddr {
    /// The text given, for messages.
    pub text: String,
    /// What it resolved to, in the resolver's order; never empty.
    pub addrs: Vec<SocketAddr>,
}

impl ListenAddr {
    /// Parses `HOST:PORT`: an IP address as is, a host name through the
    /// system's resolver (`/etc/hosts`, DNS).
    pub fn parse(text: &str) -> Result<Self, String> {
        let addrs = match text.parse::<SocketAddr>() {
            Ok(addr) => vec![addr],
            Err(_) => resolve(text)?,
        };
        Ok(Self {
            text: text.to_owned(),
            addrs,
        })
    }
}

/// What `HOST:PORT` should look like, for messages.
const EXPECTED: &str =
    "expected HOST:PORT, such as localhost:8080, 127.0.0.1:8080 or [::1]:8080 (port 0: any free port)";

/// Resolves a `HOST:PORT` that is not a literal socket address.
fn resolve(text: &str) -> Result<Vec<SocketAddr>, String> {
    // Split here rather than hand the text to `ToSocketAddrs` whole: its
    // "invalid socket address" says neither that the port is missing nor
    // which part is wrong.
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("no port in {text:?}: {EXPECTED}"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("{port:?} is not a port (0 to 65535): {EXPECTED}"))?;
    if host.is_empty() {
        return Err(format!("no host before the port: {EXPECTED}"));
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|error| format!("cannot resolve host {host:?}: {error}"))?
        .collect();
    if addrs.is_empty() {
        return Err(format!("host {host:?} resolves to no address"));
    }
    Ok(addrs)
}

/// Binds the first of `listen`'s addresses that can be bound (a name such
/// as `localhost` may resolve to an IPv6 address where IPv6 is off, and an
/// IPv4 one beside it); returns the listener and its bound address.
pub(crate) async fn bind(listen: &ListenAddr) -> Result<(TcpListener, SocketAddr), CliError> {
    let mut failures = Vec::new();
    for &addr in &listen.addrs {
        match TcpListener::bind(addr).await {
            Ok(listener) => {
                let bound = listener
                    .local_addr()
                    .map_err(|error| CliError::Internal(format!("no local address: {error}")))?;
                return Ok((listener, bound));
            }
            Err(error) => failures.push((addr, error)),
        }
    }
    Err(CliError::BadInput(cannot_listen(listen, &failures)))
}

/// Why no address of `listen` could be bound: each address's error, or
/// the one error when the text was that address.
fn cannot_listen(listen: &ListenAddr, failures: &[(SocketAddr, std::io::Error)]) -> String {
    match failures {
        [(addr, error)] if addr.to_string() == listen.text => {
            format!("cannot listen on {addr}: {error}")
        }
        _ => {
            let each: Vec<String> = failures
                .iter()
                .map(|(addr, error)| format!("{addr}: {error}"))
                .collect();
            format!("cannot listen on {} ({})", listen.text, each.join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_literal_address_is_taken_as_is() {
        for text in ["127.0.0.1:0", "[::1]:8080", "0.0.0.0:80"] {
            let listen = ListenAddr::parse(text).unwrap();
            assert_eq!(listen.addrs, vec![text.parse::<SocketAddr>().unwrap()]);
        }
    }

    #[test]
    fn a_host_name_resolves() {
        let listen = ListenAddr::parse("localhost:8080").unwrap();
        assert_eq!(listen.text, "localhost:8080");
        assert!(!listen.addrs.is_empty());
        assert!(
            listen
                .addrs
                .iter()
                .all(|addr| addr.ip().is_loopback() && addr.port() == 8080),
            "{:?}",
            listen.addrs
        );
    }

    #[tokio::test]
    async fn the_first_address_that_binds_is_bound() {
        let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let taken = taken.local_addr().unwrap();
        let listen = ListenAddr {
            text: format!("somehost:{}", taken.port()),
            addrs: vec![taken, "127.0.0.1:0".parse().unwrap()],
        };
        let (_listener, bound) = bind(&listen).await.unwrap();
        assert_ne!(bound, taken);
        let only_taken = ListenAddr {
            addrs: vec![taken],
            ..listen
        };
        let error = bind(&only_taken).await.unwrap_err().to_string();
        assert!(
            error.starts_with(&format!(
                "cannot listen on somehost:{0} (127.0.0.1:{0}: ",
                taken.port()
            )),
            "{error}"
        );
    }

    #[test]
    fn each_address_that_could_not_be_bound_is_named() {
        let in_use = || std::io::Error::from(std::io::ErrorKind::AddrInUse);
        let literal = ListenAddr::parse("127.0.0.1:80").unwrap();
        assert_eq!(
            cannot_listen(&literal, &[(literal.addrs[0], in_use())]),
            "cannot listen on 127.0.0.1:80: address in use"
        );
        let named = ListenAddr {
            text: "localhost:80".to_owned(),
            addrs: vec!["[::1]:80".parse().unwrap(), "127.0.0.1:80".parse().unwrap()],
        };
        let failures: Vec<_> = named.addrs.iter().map(|&addr| (addr, in_use())).collect();
        assert_eq!(
            cannot_listen(&named, &failures),
            "cannot listen on localhost:80 ([::1]:80: address in use; 127.0.0.1:80: address in use)"
        );
    }

    #[test]
    fn what_cannot_be_an_address_is_named() {
        let error = |text| ListenAddr::parse(text).unwrap_err();
        assert_eq!(
            error("localhost"),
            format!("no port in \"localhost\": {EXPECTED}")
        );
        assert_eq!(
            error("localhost:http"),
            format!("\"http\" is not a port (0 to 65535): {EXPECTED}")
        );
        assert_eq!(
            error("localhost:65536"),
            format!("\"65536\" is not a port (0 to 65535): {EXPECTED}")
        );
        assert_eq!(
            error(":8080"),
            format!("no host before the port: {EXPECTED}")
        );
        assert!(
            error("no-such-host.invalid:8080")
                .starts_with("cannot resolve host \"no-such-host.invalid\": "),
            "{}",
            error("no-such-host.invalid:8080")
        );
    }
}
