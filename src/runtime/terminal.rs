//! Terminal lifecycle: raw mode + alternate screen in, and always back out — on a normal exit,
//! a panic (ratatui's hook), and SIGINT/SIGTERM/SIGHUP (handled by the event loop).

use std::io::{self, Stdout};

use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

pub type Term = Terminal<CrosstermBackend<Stdout>>;

pub fn enter() -> io::Result<Term> {
    // ratatui::try_init enables raw mode and the alternate screen and installs a panic hook that
    // restores the terminal before the previous hook prints the panic.
    ratatui::try_init()
}

/// Restore the terminal; errors are ignored (after an SSH drop there is no terminal to restore).
pub fn leave() {
    ratatui::restore();
}
