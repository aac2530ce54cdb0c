//! Terminal lifecycle: raw mode + alternate screen in, and always back out — on a normal exit,
//! a panic (ratatui's hook), and SIGINT/SIGTERM/SIGHUP (handled by the event loop). After a
//! hang-up with a step still running, the terminal is abandoned instead (see [`abandon`]).

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

/// The terminal is gone (SSH drop) but the cockpit stays to see a running step end: point
/// stdout and stderr at /dev/null so no later write (a panic message, the exit lines) can fail
/// on, or block behind, a dead or unread terminal. The terminal is not restored: nobody is there.
pub fn abandon() {
    // SAFETY: plain fd syscalls on a path literal; dup2 atomically replaces fds 1 and 2.
    unsafe {
        let fd = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR | libc::O_CLOEXEC);
        if fd >= 0 {
            libc::dup2(fd, 1);
            libc::dup2(fd, 2);
            libc::close(fd);
        }
    }
}
