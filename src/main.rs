// musl's malloc is slow under the output flood's many small allocations across threads
// (BENCHMARKS.md, "The shipped binary"): the static binary uses mimalloc; glibc builds keep
// glibc's allocator (one arena, `runtime::main_entry`).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    #[cfg(target_env = "musl")]
    return_memory_promptly();
    let code = drcockpit::runtime::main_entry();
    // Flushes stdout; a reader that went away is a quiet exit, a failed write is exit 1.
    std::process::exit(drcockpit::cli::out::finish(code));
}

/// mimalloc's defaults favour speed over memory: arenas committed eagerly where the OS
/// overcommits, freed pages returned 10 ms later. An idle cockpit held 22 MiB that way and a
/// flood 62 MiB at its peak; with eager arena commit off and pages returned at once, 5.5 and
/// 18 MiB, the flood still journaled in 1.1 s (BENCHMARKS.md, "The shipped binary").
#[cfg(target_env = "musl")]
fn return_memory_promptly() {
    // mimalloc.h `mi_option_e` (v3, which libmimalloc-sys builds unless its `v2` feature is on;
    // the two numbers are the same in v2): 4 = arena_eager_commit, 15 = purge_delay (ms).
    const ARENA_EAGER_COMMIT: libmimalloc_sys::mi_option_t = 4;
    const PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;
    // SAFETY: setting an allocator option is thread-safe and takes effect for later
    // allocations; nothing else runs yet.
    unsafe {
        libmimalloc_sys::mi_option_set(ARENA_EAGER_COMMIT, 0);
        libmimalloc_sys::mi_option_set(PURGE_DELAY, 0);
    }
}
