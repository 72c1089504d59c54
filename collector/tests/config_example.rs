//! The documented example configuration is a valid configuration, and it documents the defaults.
use std::collections::BTreeMap;

#[test]
fn the_example_config_loads_and_matches_the_defaults() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../config/footfall.example.toml");
    let loaded = footfall::settings::Settings::load(Some(std::path::Path::new(path)), &BTreeMap::new()).unwrap();
    let defaults = footfall::settings::Settings::default();
    assert_eq!(toml::to_string(&loaded).unwrap(), toml::to_string(&defaults).unwrap());
}
