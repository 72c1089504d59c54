//! GeoIP: the client address → country, region and city, from a MaxMind-format City or Country database
//! (DB-IP Lite or GeoLite2; `FOOTFALL_GEOIP_DB`). The address is looked up in memory and never kept.
//! Without a database the fields stay empty. Both record layouts in use are read: MaxMind's GeoIP2 schema,
//! and the flat one of the ip-location-db packages of DB-IP Lite (`country_code`, `state1`, `city`).
use std::net::IpAddr;
use std::path::Path;

use maxminddb::{geoip2, Mmap, Reader};

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Location {
    /// ISO 3166-1 alpha-2, e.g. `GB`.
    pub country: Option<String>,
    /// Region (first-level subdivision) in English, e.g. `England`.
    pub region: Option<String>,
    /// English name, e.g. `London`.
    pub city: Option<String>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot open the GeoIP database {path}: {source}")]
pub struct GeoError {
    path: String,
    source: maxminddb::MaxMindDbError,
}

/// The ip-location-db layout (DB-IP Lite from npm).
#[derive(serde::Deserialize)]
struct Flat<'a> {
    #[serde(borrow, default)]
    country_code: Option<&'a str>,
    #[serde(borrow, default)]
    state1: Option<&'a str>,
    #[serde(borrow, default)]
    city: Option<&'a str>,
}

pub struct Geo {
    reader: Option<Reader<Mmap>>,
}

impl Geo {
    pub fn none() -> Geo {
        Geo { reader: None }
    }

    pub fn open(path: &Path) -> Result<Geo, GeoError> {
        // SAFETY: the database is mapped read-only. Replacing it must be done the usual way for mmdb files —
        // write a new file and rename it over the old one — which leaves this mapping on the old inode;
        // truncating the file in place while the collector runs is not supported.
        #[allow(unsafe_code)]
        let reader = unsafe { Reader::open_mmap(path) }
            .map_err(|source| GeoError { path: path.display().to_string(), source })?;
        Ok(Geo { reader: Some(reader) })
    }

    pub fn lookup(&self, ip: IpAddr) -> Location {
        let Some(reader) = &self.reader else { return Location::default() };
        let Ok(found) = reader.lookup(ip) else { return Location::default() };
        let owned = |s: Option<&str>| s.filter(|s| !s.is_empty()).map(str::to_owned);
        if let Ok(Some(city)) = found.decode::<geoip2::City>() {
            if city.country.iso_code.is_some() {
                let region = city.subdivisions.first().and_then(|s| s.names.english.or(s.iso_code));
                return Location {
                    country: owned(city.country.iso_code),
                    region: owned(region),
                    city: owned(city.city.names.english),
                };
            }
        }
        match found.decode::<Flat>() {
            Ok(Some(flat)) => {
                Location { country: owned(flat.country_code), region: owned(flat.state1), city: owned(flat.city) }
            }
            _ => Location::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn db(name: &str) -> Geo {
        Geo::open(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/geoip").join(name)).unwrap()
    }

    #[test]
    fn city_database_gives_country_region_and_city() {
        let geo = db("GeoLite2-City-Test.mmdb");
        let london = geo.lookup("81.2.69.142".parse().unwrap());
        assert_eq!(
            london,
            Location { country: Some("GB".into()), region: Some("England".into()), city: Some("London".into()) }
        );
        assert_eq!(geo.lookup("2001:218::1".parse().unwrap()).country.as_deref(), Some("JP"));
        assert_eq!(geo.lookup("127.0.0.1".parse().unwrap()), Location::default());
    }

    #[test]
    fn country_database_gives_the_country_only() {
        let geo = db("GeoLite2-Country-Test.mmdb");
        let se = geo.lookup("89.160.20.115".parse().unwrap());
        assert_eq!((se.country.as_deref(), se.region, se.city), (Some("SE"), None, None));
        assert!(Geo::open(Path::new("/nonexistent.mmdb")).is_err());
        assert_eq!(Geo::none().lookup("81.2.69.142".parse().unwrap()), Location::default());
    }
}
