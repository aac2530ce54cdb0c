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

/// The largest text `y` copies: terminals cap OSC 52 (xterm and tmux at about 100 kB of base64).
pub const OSC52_MAX: usize = 64 * 1024;

/// The OSC 52 "set clipboard" sequence for `text` (`ESC ] 52 ; c ; <base64> BEL`). It reaches
/// the operator's clipboard over SSH, since the terminal emulator — not this host — handles it.
/// Inside tmux (`in_tmux`), it is wrapped in tmux's passthrough (`ESC P tmux; … ESC \`, every ESC
/// inside doubled) so tmux hands it to the outer terminal.
pub fn osc52(text: &str, in_tmux: bool) -> String {
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(text.as_bytes());
    let seq = format!("\x1b]52;c;{b64}\x07");
    if in_tmux {
        format!("\x1bPtmux;{}\x1b\\", seq.replace('\x1b', "\x1b\x1b"))
    } else {
        seq
    }
}

/// Copy `text` to the clipboard: redacted once more (whatever the caller did), capped, and
/// written to the terminal. Returns what the flash says.
pub fn yank(text: &str, what: &str) -> String {
    use std::io::Write as _;
    let text = crate::redact::redact(text);
    if text.len() > OSC52_MAX {
        return format!(
            "not copied: {what} is {} kB, more than a terminal takes through OSC 52",
            text.len() / 1024
        );
    }
    let seq = osc52(
        &text,
        std::env::var_os("TMUX").is_some_and(|v| !v.is_empty()),
    );
    let mut out = io::stdout().lock();
    match out.write_all(seq.as_bytes()).and_then(|_| out.flush()) {
        Ok(()) => format!(
            "copied {what} ({} chars; through OSC 52 — the terminal must allow clipboard writes)",
            text.chars().count()
        ),
        Err(e) => format!("not copied: cannot write to the terminal: {e}"),
    }
}

/// Mouse reporting on (wheel and clicks; `--no-mouse` or `mouse = false` keep it off, so the
/// terminal's own selection works).
pub fn enable_mouse() -> io::Result<()> {
    crossterm::execute!(io::stdout(), crossterm::event::EnableMouseCapture)?;
    // ratatui's panic hook restores raw mode and the screen, not mouse reporting: turn it off
    // first, or the shell after a panic fills with mouse codes.
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        disable_mouse();
        previous(info);
    }));
    Ok(())
}

pub fn disable_mouse() {
    let _ = crossterm::execute!(io::stdout(), crossterm::event::DisableMouseCapture);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn osc52_plain_and_in_tmux() {
        assert_eq!(osc52("hi", false), "\x1b]52;c;aGk=\x07");
        assert_eq!(osc52("hi", true), "\x1bPtmux;\x1b\x1b]52;c;aGk=\x07\x1b\\");
    }
}
