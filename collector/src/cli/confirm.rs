//! The question a destructive command asks before it acts. `--yes` answers it in advance; without a terminal to
//! ask on (a script, a cron job, a pipe) and without `--yes`, the command refuses rather than guess.
use std::io::{BufRead, IsTerminal, Write};

use anyhow::{bail, Context};

/// Asks whether to `action` (`delete site blog (blog.example.org) …`) on stderr and reads the answer from
/// stdin; only `y` or `yes` goes ahead.
pub fn destructive(action: &str, yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        bail!("will not {action} without confirmation: there is no terminal to ask on; add --yes to confirm");
    }
    let mut stderr = std::io::stderr().lock();
    write!(stderr, "About to {action}. Go ahead? [y/N] ")
        .and_then(|()| stderr.flush())
        .context("cannot ask on stderr")?;
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer).context("cannot read the answer")?;
    if !is_yes(&answer) {
        bail!("cancelled; nothing was changed");
    }
    Ok(())
}

fn is_yes(answer: &str) -> bool {
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_explicit_yes_goes_ahead() {
        assert!(is_yes("y\n") && is_yes(" YES\r\n"));
        assert!(!is_yes("\n") && !is_yes("n") && !is_yes("yes please"));
    }
}
