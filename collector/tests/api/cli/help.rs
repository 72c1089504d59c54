//! `--help` describes every argument, and `serve --help` the environment it reads.
use clap::CommandFactory;
use footfall::cli::Cli;

use super::*;

#[test]
fn every_argument_of_every_command_is_described() {
    fn walk(command: &clap::Command, path: &str, missing: &mut Vec<String>) {
        for arg in command.get_arguments() {
            let builtin = ["help", "version"].contains(&arg.get_id().as_str());
            if !builtin && arg.get_help().is_none() && arg.get_long_help().is_none() {
                missing.push(format!("{path} {}", arg.get_id()));
            }
        }
        for sub in command.get_subcommands() {
            if sub.get_about().is_none() && sub.get_name() != "help" {
                missing.push(format!("{path} {} (the command itself)", sub.get_name()));
            }
            walk(sub, &format!("{path} {}", sub.get_name()), missing);
        }
    }
    let mut missing = Vec::new();
    walk(&Cli::command(), "footfall", &mut missing);
    assert!(missing.is_empty(), "undescribed: {missing:?}");
}

#[test]
fn serve_help_lists_the_main_variables_with_their_defaults() {
    let help = footfall_cli(&[], &["serve", "--help"]);
    for expected in ["FOOTFALL_LISTEN", "127.0.0.1:8080", "FOOTFALL_DATABASE_URL", "sqlite://footfall.db?mode=rwc"] {
        assert!(help.contains(expected), "{expected}: {help}");
    }
    for expected in
        ["FOOTFALL_DATA_DIR", "./data", "FOOTFALL_REDIS_URL", "FOOTFALL_SECRET_KEY", "FOOTFALL_<SECTION>__<KEY>"]
    {
        assert!(help.contains(expected), "{expected}: {help}");
    }
    let site_add = footfall_cli(&[], &["site", "add", "--help"]);
    assert!(site_add.contains("a pasted address"), "DOMAIN is described: {site_add}");
    let user_delete = footfall_cli(&[], &["user", "delete", "--help"]);
    assert!(user_delete.contains("--delete-sites") && user_delete.contains("administrator"), "{user_delete}");
}
