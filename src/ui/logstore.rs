//! The log pane's store: tui-logger installed as the `log` backend (nothing goes to stderr while
//! the terminal is ours). Everything logged passes through the redactor first.

/// Install tui-logger as the global logger at `level`.
pub fn install(level: log::LevelFilter) -> Result<(), String> {
    tui_logger::init_logger(level).map_err(|e| e.to_string())?;
    tui_logger::set_default_level(level);
    Ok(())
}
