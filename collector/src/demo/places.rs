//! Where demo visitors are: addresses in networks that MaxMind's GeoIP2 *test* database (shipped in
//! `collector/tests/data/geoip`, Apache-2.0 / MIT) resolves to a country, and for some IPv4 networks to a
//! region and city. Without a configured GeoIP database the demo uses that test database, so a fresh set-up
//! still shows countries; with a real one, the same addresses resolve to whatever it says.
//!
//! Every visitor gets its own address inside its network (IPv6 networks are vast; the small IPv4 city
//! networks are shared, as real NAT'd offices are). The addresses exist only in memory, in the beacons the
//! demo hands to the pipeline, which drops them after GeoIP and hashing like any other.
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};

use rand::Rng;

use super::pick;

/// The test database, embedded so `footfall demo` works from any directory.
static TEST_DATABASE: &[u8] = include_bytes!("../../tests/data/geoip/GeoLite2-City-Test.mmdb");
pub const TEST_DATABASE_NAME: &str = "GeoLite2-City-Test.mmdb";

/// (weight, network, prefix length). Comments: what the test database says about the network.
const NETWORKS: &[(u32, &str, u8)] = &[
    (140, "214.78.0.0", 19),   // US, California, San Diego
    (80, "2001:480::", 43),    // US, California, San Diego
    (10, "216.160.83.56", 29), // US, Washington, Milton
    (20, "81.2.69.144", 28),   // GB, England, London
    (25, "81.2.69.160", 27),   // GB, England, London
    (15, "81.2.69.192", 28),   // GB, England, London
    (10, "2.125.160.216", 29), // GB, England, Boxford
    (60, "2a02:d3c0::", 29),   // GB
    (30, "89.160.20.128", 25), // SE, Östergötland County, Linköping
    (10, "89.160.20.112", 28), // SE, Östergötland County, Linköping
    (20, "2a02:d040::", 29),   // SE
    (60, "2a02:d180::", 29),   // DE
    (60, "2a02:e240::", 29),   // DE
    (40, "2a02:cfc0::", 29),   // FR
    (30, "2a02:e000::", 29),   // FR
    (50, "2a02:e040::", 29),   // NL
    (20, "2a02:d000::", 29),   // CH
    (30, "2a02:d1c0::", 29),   // IT
    (30, "2a02:d5c0::", 29),   // ES
    (30, "2a02:d100::", 29),   // PL
    (20, "2a02:cf40::", 29),   // NO
    (20, "2a02:e900::", 29),   // IE
    (10, "2a02:fc40::", 29),   // DK
    (10, "2a02:da80::", 29),   // AT
    (20, "175.16.199.0", 24),  // CN, Jilin Sheng, Changchun
    (40, "2001:218::", 32),    // JP
    (20, "2001:220::", 32),    // KR
    (10, "2001:238::", 32),    // TW
    (10, "2001:2e0::", 32),    // HK
    (30, "202.196.224.0", 20), // PH
    (5, "67.43.156.0", 24),    // BT
];

/// A visitor's address: a network by weight, then a host inside it.
pub fn choose(rng: &mut impl Rng) -> IpAddr {
    let &(_, network, prefix) = pick(rng, NETWORKS, |(w, _, _)| *w);
    // The table is static and checked by a test; a bad entry would fail it, not this.
    match network.parse::<IpAddr>().unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED)) {
        IpAddr::V4(base) => {
            let size = 1u32 << (32 - prefix);
            IpAddr::V4(Ipv4Addr::from(u32::from(base) + rng.gen_range(0..size)))
        }
        IpAddr::V6(base) => {
            let size = 1u128 << (128 - prefix);
            IpAddr::V6(Ipv6Addr::from(u128::from(base) + rng.gen_range(0..size)))
        }
    }
}

/// Writes the embedded test database into `dir` (once; replaced by rename, never rewritten in place, since
/// another process may have it mapped) and returns its path.
pub fn install_test_database(dir: &Path) -> std::io::Result<PathBuf> {
    std::fs::create_dir_all(dir)?;
    let path = dir.join(TEST_DATABASE_NAME);
    if std::fs::read(&path).is_ok_and(|existing| existing == TEST_DATABASE) {
        return Ok(path);
    }
    let temporary = dir.join(format!(".{TEST_DATABASE_NAME}.{}", uuid::Uuid::new_v4().simple()));
    std::fs::write(&temporary, TEST_DATABASE)?;
    std::fs::rename(&temporary, &path)?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::enrich::geo::Geo;
    use rand::SeedableRng;

    #[test]
    fn every_network_resolves_to_a_country_in_the_test_database() {
        let dir = std::env::temp_dir().join(format!("footfall-demo-geo-{}", uuid::Uuid::new_v4().simple()));
        let geo = Geo::open(&install_test_database(&dir).unwrap()).unwrap();
        for (_, network, prefix) in NETWORKS {
            let base: IpAddr = network.parse().unwrap();
            assert!(geo.lookup(base).country.is_some(), "{network}/{prefix}");
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        let mut cities = 0;
        for _ in 0..2000 {
            let location = geo.lookup(choose(&mut rng));
            assert!(location.country.is_some());
            cities += usize::from(location.city.is_some());
        }
        assert!(cities > 400, "a good share of visitors has a city: {cities}");
        // Installing again keeps the file (a running demo may have it mapped).
        assert_eq!(install_test_database(&dir).unwrap(), dir.join(TEST_DATABASE_NAME));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
