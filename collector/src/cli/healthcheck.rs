//! `footfall healthcheck [--ready]`: asks the collector on this machine (its `listen` setting) for `/healthz`, or
//! `/readyz` with `--ready`, and exits 0 only on `200`. Container health checks run it: the image has no shell and
//! no HTTP client, so the binary asks itself (compose.yaml).
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::Duration;

use anyhow::{bail, Context};

/// A health check that hangs is a failed one; the endpoints answer in microseconds.
const TIMEOUT: Duration = Duration::from_secs(3);

pub fn run(listen: &str, ready: bool) -> anyhow::Result<()> {
    let path = if ready { "/readyz" } else { "/healthz" };
    let address = local_address(listen).with_context(|| format!("cannot read the listen address `{listen}`"))?;
    let status = status_of(address, path).with_context(|| format!("no answer from {address}{path}"))?;
    if status != 200 {
        bail!("{address}{path} answered {status}");
    }
    println!("ok");
    Ok(())
}

/// Where a process on the same machine reaches a collector listening on `listen`: a wildcard address on loopback.
fn local_address(listen: &str) -> anyhow::Result<SocketAddr> {
    let mut address = listen.to_socket_addrs()?.next().context("it names no address")?;
    if address.ip().is_unspecified() {
        let loopback = match address {
            SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
            SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
        };
        address.set_ip(loopback);
    }
    Ok(address)
}

/// The status code of `GET path` (HTTP/1.0, so the answer ends with the connection).
fn status_of(address: SocketAddr, path: &str) -> anyhow::Result<u16> {
    let mut stream = TcpStream::connect_timeout(&address, TIMEOUT)?;
    stream.set_read_timeout(Some(TIMEOUT))?;
    stream.set_write_timeout(Some(TIMEOUT))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {address}\r\n\r\n")?;
    let mut head = Vec::new();
    stream.take(1024).read_to_end(&mut head)?;
    let line = String::from_utf8_lossy(&head);
    let code = line.split_whitespace().nth(1).context("not an HTTP answer")?;
    code.parse().with_context(|| format!("not an HTTP status: {code}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_wildcard_listen_address_is_asked_on_loopback() {
        assert_eq!(local_address("0.0.0.0:8080").unwrap().to_string(), "127.0.0.1:8080");
        assert_eq!(local_address("[::]:8080").unwrap().to_string(), "[::1]:8080");
        assert_eq!(local_address("10.0.0.5:9000").unwrap().to_string(), "10.0.0.5:9000");
        assert!(local_address("no-port").is_err());
    }
}
