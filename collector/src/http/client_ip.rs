//! The client's address, for GeoIP, the visitor hash and rate limits (it is never stored or logged).
//!
//! The TCP peer is the client unless it is a trusted proxy; then the forwarding headers are walked from the
//! right, skipping trusted hops, and the first hop that is not a trusted proxy is the client — everything to
//! its left is whatever the client chose to send. Internal hops of the operator's own network count only when
//! listed in `trusted_proxies`: skipping every private address let a client on a private network pose as any
//! address it wrote to the left of its own (`X-Forwarded-For: 6.6.7.$i, 10.1.2.3` gave a fresh login budget per
//! attempt).
use std::net::IpAddr;

use actix_web::HttpRequest;

use crate::settings::{canonical, IpNet};

pub fn client_ip(req: &HttpRequest, trusted: &[IpNet]) -> IpAddr {
    let peer = req.peer_addr().map(|a| canonical(a.ip())).unwrap_or(IpAddr::from([0, 0, 0, 0]));
    let is_trusted = |ip: IpAddr| trusted.iter().any(|net| net.contains(ip));
    if !is_trusted(peer) {
        return peer;
    }
    let hops = forwarded_for(req);
    hops.into_iter().rev().find(|ip| !is_trusted(*ip)).unwrap_or(peer)
}

/// Addresses from `Forwarded` (RFC 7239) or else `X-Forwarded-For`, left to right.
fn forwarded_for(req: &HttpRequest) -> Vec<IpAddr> {
    let headers = req.headers();
    if let Some(forwarded) = headers.get("forwarded").and_then(|v| v.to_str().ok()) {
        let hops: Vec<IpAddr> = forwarded
            .split(',')
            .flat_map(|element| element.split(';'))
            .filter_map(|pair| pair.trim().strip_prefix("for=").or_else(|| pair.trim().strip_prefix("For=")))
            .filter_map(parse_node)
            .collect();
        if !hops.is_empty() {
            return hops;
        }
    }
    headers
        .get_all("x-forwarded-for")
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(parse_node)
        .collect()
}

/// `1.2.3.4`, `1.2.3.4:80`, `"[2001:db8::1]:443"`, `2001:db8::1`.
fn parse_node(raw: &str) -> Option<IpAddr> {
    let node = raw.trim().trim_matches('"');
    if let Ok(ip) = node.parse::<IpAddr>() {
        return Some(canonical(ip));
    }
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split(']').next()?.parse().ok().map(canonical);
    }
    node.rsplit_once(':').and_then(|(host, _)| host.parse().ok()).map(canonical)
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::test::TestRequest;

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| IpNet::parse(s).unwrap()).collect()
    }

    #[test]
    fn an_untrusted_peer_is_the_client_whatever_it_forwards() {
        let req = TestRequest::default()
            .peer_addr("198.51.100.7:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "1.1.1.1"))
            .to_http_request();
        assert_eq!(client_ip(&req, &nets(&["10.0.0.0/8"])), "198.51.100.7".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn an_untrusted_private_hop_is_the_client_not_what_it_forwarded() {
        let req = TestRequest::default()
            .peer_addr("127.0.0.1:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "6.6.7.1, 10.1.2.3"))
            .to_http_request();
        assert_eq!(client_ip(&req, &nets(&["127.0.0.1"])), "10.1.2.3".parse::<IpAddr>().unwrap());
        // Listed internal proxies are skipped like any trusted hop.
        let req = TestRequest::default()
            .peer_addr("127.0.0.1:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "203.0.113.9, 192.168.1.4, 10.9.8.7"))
            .to_http_request();
        let trusted = nets(&["127.0.0.1", "10.0.0.0/8", "192.168.0.0/16"]);
        assert_eq!(client_ip(&req, &trusted), "203.0.113.9".parse::<IpAddr>().unwrap());
    }

    #[test]
    fn behind_trusted_proxies_the_rightmost_untrusted_hop_is_the_client() {
        let req = TestRequest::default()
            .peer_addr("10.0.0.2:5000".parse().unwrap())
            .insert_header(("x-forwarded-for", "6.6.6.6, 203.0.113.5, 10.0.0.9"))
            .to_http_request();
        assert_eq!(client_ip(&req, &nets(&["10.0.0.0/8"])), "203.0.113.5".parse::<IpAddr>().unwrap());
        let req = TestRequest::default()
            .peer_addr("10.0.0.2:5000".parse().unwrap())
            .insert_header(("forwarded", r#"for=6.6.6.6, for="[2001:db8::7]:443";proto=https"#))
            .to_http_request();
        assert_eq!(client_ip(&req, &nets(&["10.0.0.0/8"])), "2001:db8::7".parse::<IpAddr>().unwrap());
    }
}
