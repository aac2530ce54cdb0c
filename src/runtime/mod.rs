//! The tokio loop: terminal lifecycle, event stream, effect executor, journal writer, probes.

pub fn main_entry() -> i32 {
    0
}
