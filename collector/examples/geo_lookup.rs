//! Looks addresses up in a GeoIP database the way the pipeline does:
//! `cargo run -p footfall-collector --example geo_lookup -- DB.mmdb 8.8.8.8 2a00:1450::1`
fn main() {
    let mut args = std::env::args().skip(1);
    let path = args.next().expect("usage: geo_lookup DB.mmdb IP...");
    let geo = footfall::enrich::geo::Geo::open(std::path::Path::new(&path)).unwrap_or_else(|e| panic!("{e}"));
    for ip in args {
        let parsed = ip.parse().unwrap_or_else(|_| panic!("{ip} is not an IP address"));
        println!("{ip}: {:?}", geo.lookup(parsed));
    }
}
