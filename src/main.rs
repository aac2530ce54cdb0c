fn main() {
    std::process::exit(drcockpit::runtime::main_entry());
}
