fn main() {
    let code = drcockpit::runtime::main_entry();
    // Flushes stdout; a reader that went away is a quiet exit, a failed write is exit 1.
    std::process::exit(drcockpit::cli::out::finish(code));
}
