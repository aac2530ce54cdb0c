//! Themes: TOML files in `themes/` (dark default, light, high-contrast), embedded in the binary.

#[derive(Debug, Clone, Default)]
pub struct Theme {}
