//! Themes: TOML files in `themes/` (dark default, light, high-contrast), embedded in the binary.
//!
//! A theme names semantic roles (ok, warn, bad, unknown, stale, accent, dim, badges per mode,
//! selection, border …); each role is a colour (`"green"`, `"light-red"`, `"#rrggbb"`, `0`–`255`)
//! or a table `{ fg, bg, bold, dim, italic, underlined, reversed }`. A user theme file only needs
//! the roles it changes: the rest come from the dark theme. Colour is never the only signal on
//! screen (icons and words carry every state), so `NO_COLOR` can drop colours and keep modifiers.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::app::Mode;

/// The built-in themes, by name, embedded from `themes/`.
pub const BUILTIN: [(&str, &str); 3] = [
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
];

/// Resolved styles for every role the painter uses.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    /// Colours were dropped (`NO_COLOR`): the painter relies on modifiers and symbols only.
    pub no_color: bool,
    pub text: Style,
    pub ok: Style,
    pub warn: Style,
    pub bad: Style,
    pub unknown: Style,
    pub stale: Style,
    pub accent: Style,
    pub dim: Style,
    pub title: Style,
    pub border: Style,
    pub border_focus: Style,
    pub selection: Style,
    pub running: Style,
    pub key: Style,
    pub dialog: Style,
    pub dialog_border: Style,
    pub input: Style,
    pub badge_demo: Style,
    pub badge_live: Style,
    pub badge_review: Style,
    pub badge_monitor: Style,
    pub badge_drill: Style,
}

impl Default for Theme {
    /// The dark theme, with colours (ignores `NO_COLOR`; use [`Theme::load`] for that).
    fn default() -> Theme {
        Theme::builtin("dark").unwrap_or_else(|_| Theme::fallback())
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTheme {
    name: Option<String>,
    #[serde(default)]
    roles: BTreeMap<String, RawStyle>,
    #[serde(default)]
    badge: BTreeMap<String, RawStyle>,
}

#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum RawStyle {
    Color(String),
    Full(RawFull),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFull {
    fg: Option<String>,
    bg: Option<String>,
    bold: Option<bool>,
    dim: Option<bool>,
    italic: Option<bool>,
    underlined: Option<bool>,
    reversed: Option<bool>,
}

const ROLES: [&str; 17] = [
    "text",
    "ok",
    "warn",
    "bad",
    "unknown",
    "stale",
    "accent",
    "dim",
    "title",
    "border",
    "border_focus",
    "selection",
    "running",
    "key",
    "dialog",
    "dialog_border",
    "input",
];
const BADGES: [&str; 5] = ["demo", "live", "review", "monitor", "drill"];

fn color(s: &str, role: &str) -> Result<Color, String> {
    Color::from_str(s.trim()).map_err(|_| {
        format!(
            "role `{role}`: `{s}` is not a colour (use a name like `green`, `light-red`, `dark-gray`, \
             a `#rrggbb` value or an index 0-255)"
        )
    })
}

fn style_of(raw: &RawStyle, role: &str) -> Result<Style, String> {
    match raw {
        RawStyle::Color(c) => Ok(Style::new().fg(color(c, role)?)),
        RawStyle::Full(f) => {
            let mut s = Style::new();
            if let Some(c) = &f.fg {
                s = s.fg(color(c, role)?);
            }
            if let Some(c) = &f.bg {
                s = s.bg(color(c, role)?);
            }
            for (flag, m) in [
                (f.bold, Modifier::BOLD),
                (f.dim, Modifier::DIM),
                (f.italic, Modifier::ITALIC),
                (f.underlined, Modifier::UNDERLINED),
                (f.reversed, Modifier::REVERSED),
            ] {
                if flag == Some(true) {
                    s = s.add_modifier(m);
                }
            }
            Ok(s)
        }
    }
}

impl Theme {
    /// Names of the built-in themes.
    pub fn names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    /// `None`: the config file's choice or dark; a name (dark, light, high-contrast) or a path.
    /// `NO_COLOR` set and non-empty: colours dropped, modifiers kept.
    pub fn load(choice: Option<&str>) -> Result<Theme, String> {
        let theme = match choice.map(str::trim).filter(|c| !c.is_empty()) {
            Some(c) => Theme::resolve(c, None)?,
            None => match config_path() {
                Some(path) if path.is_file() => match config_theme(&path)? {
                    Some(c) => Theme::resolve(&c, Some(&path))?,
                    None => Theme::builtin("dark")?,
                },
                _ => Theme::builtin("dark")?,
            },
        };
        Ok(if no_color_env() {
            theme.without_color()
        } else {
            theme
        })
    }

    /// A built-in theme by name.
    pub fn builtin(name: &str) -> Result<Theme, String> {
        match BUILTIN.iter().find(|(n, _)| *n == name) {
            Some((n, text)) => Theme::parse(text, &format!("built-in theme {n}")),
            None => Err(format!(
                "unknown theme `{name}`; available: {} (or a path to a .toml theme file)",
                Theme::names().join(", ")
            )),
        }
    }

    /// A theme from a TOML file; roles it leaves out come from the dark theme.
    pub fn from_file(path: &Path) -> Result<Theme, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("cannot read theme file {}: {e}", path.display()))?;
        Theme::parse(&text, &path.display().to_string())
    }

    /// Parse theme TOML; `origin` names the file in errors.
    pub fn parse(text: &str, origin: &str) -> Result<Theme, String> {
        let raw: RawTheme =
            toml::from_str(text).map_err(|e| format!("bad theme {origin}: {}", e.message()))?;
        let mut t = if origin == "built-in theme dark" {
            Theme::fallback()
        } else {
            Theme::builtin("dark")?
        };
        if let Some(n) = raw.name {
            t.name = n;
        }
        for (role, rs) in &raw.roles {
            let s = style_of(rs, role).map_err(|e| format!("bad theme {origin}: {e}"))?;
            let slot = match role.as_str() {
                "text" => &mut t.text,
                "ok" => &mut t.ok,
                "warn" => &mut t.warn,
                "bad" => &mut t.bad,
                "unknown" => &mut t.unknown,
                "stale" => &mut t.stale,
                "accent" => &mut t.accent,
                "dim" => &mut t.dim,
                "title" => &mut t.title,
                "border" => &mut t.border,
                "border_focus" => &mut t.border_focus,
                "selection" => &mut t.selection,
                "running" => &mut t.running,
                "key" => &mut t.key,
                "dialog" => &mut t.dialog,
                "dialog_border" => &mut t.dialog_border,
                "input" => &mut t.input,
                other => {
                    return Err(format!(
                        "bad theme {origin}: unknown role `{other}` in [roles]; known: {}",
                        ROLES.join(", ")
                    ));
                }
            };
            *slot = s;
        }
        for (mode, rs) in &raw.badge {
            let s = style_of(rs, &format!("badge.{mode}"))
                .map_err(|e| format!("bad theme {origin}: {e}"))?;
            let slot = match mode.as_str() {
                "demo" => &mut t.badge_demo,
                "live" => &mut t.badge_live,
                "review" => &mut t.badge_review,
                "monitor" => &mut t.badge_monitor,
                "drill" => &mut t.badge_drill,
                other => {
                    return Err(format!(
                        "bad theme {origin}: unknown badge `{other}` in [badge]; known: {}",
                        BADGES.join(", ")
                    ));
                }
            };
            *slot = s;
        }
        Ok(t)
    }

    fn resolve(choice: &str, from_config: Option<&Path>) -> Result<Theme, String> {
        let looks_like_path =
            choice.contains('/') || choice.ends_with(".toml") || choice.starts_with('~');
        if looks_like_path {
            let p = expand_home(choice);
            // A relative path in the config file is relative to the config file's folder.
            let p = match (from_config.and_then(Path::parent), p.is_relative()) {
                (Some(dir), true) => dir.join(p),
                _ => p,
            };
            return Theme::from_file(&p);
        }
        Theme::builtin(choice).map_err(|e| match from_config {
            Some(cfg) => format!("{e} (from `theme` in {})", cfg.display()),
            None => e,
        })
    }

    /// The badge style of a mode.
    pub fn badge(&self, mode: Mode) -> Style {
        match mode {
            Mode::Demo => self.badge_demo,
            Mode::Live => self.badge_live,
            Mode::Review => self.badge_review,
            Mode::Monitor => self.badge_monitor,
        }
    }

    /// The same theme with every colour removed. Modifiers stay; badges and the selection get
    /// reverse video so they still stand out.
    pub fn without_color(mut self) -> Theme {
        self.no_color = true;
        let strip = |s: Style| Style {
            fg: None,
            bg: None,
            ..s
        };
        for s in self.roles_mut() {
            *s = strip(*s);
        }
        for s in [
            &mut self.selection,
            &mut self.badge_demo,
            &mut self.badge_live,
            &mut self.badge_review,
            &mut self.badge_monitor,
            &mut self.badge_drill,
        ] {
            *s = s.add_modifier(Modifier::REVERSED | Modifier::BOLD);
        }
        self.input = self.input.add_modifier(Modifier::UNDERLINED);
        self
    }

    fn roles_mut(&mut self) -> [&mut Style; 22] {
        [
            &mut self.text,
            &mut self.ok,
            &mut self.warn,
            &mut self.bad,
            &mut self.unknown,
            &mut self.stale,
            &mut self.accent,
            &mut self.dim,
            &mut self.title,
            &mut self.border,
            &mut self.border_focus,
            &mut self.selection,
            &mut self.running,
            &mut self.key,
            &mut self.dialog,
            &mut self.dialog_border,
            &mut self.input,
            &mut self.badge_demo,
            &mut self.badge_live,
            &mut self.badge_review,
            &mut self.badge_monitor,
            &mut self.badge_drill,
        ]
    }

    /// Plain styles used only if the embedded dark theme could not be parsed (a build bug).
    fn fallback() -> Theme {
        let b = Style::new().add_modifier(Modifier::BOLD);
        let rev = Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD);
        Theme {
            name: "dark".into(),
            no_color: false,
            text: Style::new(),
            ok: b,
            warn: b,
            bad: b,
            unknown: Style::new(),
            stale: Style::new().add_modifier(Modifier::DIM),
            accent: b,
            dim: Style::new().add_modifier(Modifier::DIM),
            title: b,
            border: Style::new(),
            border_focus: b,
            selection: rev,
            running: b,
            key: b,
            dialog: Style::new(),
            dialog_border: b,
            input: Style::new().add_modifier(Modifier::UNDERLINED),
            badge_demo: rev,
            badge_live: rev,
            badge_review: rev,
            badge_monitor: rev,
            badge_drill: rev,
        }
    }
}

fn no_color_env() -> bool {
    std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty())
}

fn expand_home(p: &str) -> PathBuf {
    if let Some(rest) = p.strip_prefix("~/")
        && let Some(home) = std::env::var_os("HOME")
    {
        return PathBuf::from(home).join(rest);
    }
    PathBuf::from(p)
}

/// `$XDG_CONFIG_HOME/drcockpit/config.toml`, else `~/.config/drcockpit/config.toml`.
pub fn config_path() -> Option<PathBuf> {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))?;
    Some(base.join("drcockpit").join("config.toml"))
}

/// The `theme` key of the config file, if set.
fn config_theme(path: &Path) -> Result<Option<String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
    let table: toml::Table = toml::from_str(&text)
        .map_err(|e| format!("bad config {}: {}", path.display(), e.message()))?;
    match table.get("theme") {
        None => Ok(None),
        Some(toml::Value::String(s)) => Ok(Some(s.clone())),
        Some(other) => Err(format!(
            "bad config {}: `theme` must be a string (a theme name or a path), not {}",
            path.display(),
            other.type_str()
        )),
    }
}

/// The input settings of config.toml: the `[keys]` overrides and `mouse` (default on). No file:
/// the defaults. A bad `[keys]` (one key for two actions, a confirming key that opens the
/// confirmation too) is refused with a message naming the file.
pub fn config_input() -> Result<(crate::app::keys::Keymap, bool), String> {
    match config_path() {
        Some(path) if path.is_file() => {
            let text = std::fs::read_to_string(&path)
                .map_err(|e| format!("cannot read config {}: {e}", path.display()))?;
            input_from(&text).map_err(|e| format!("bad config {}: {e}", path.display()))
        }
        _ => Ok((Default::default(), true)),
    }
}

/// [`config_input`] from the file's text.
pub fn input_from(text: &str) -> Result<(crate::app::keys::Keymap, bool), String> {
    let table: toml::Table = toml::from_str(text).map_err(|e| e.message().to_string())?;
    let keys = match table.get("keys") {
        None => Default::default(),
        Some(toml::Value::Table(t)) => crate::app::keys::Keymap::with_overrides(t)?,
        Some(other) => {
            return Err(format!(
                "`keys` must be a table ([keys] quit = \"Q\"), not {}",
                other.type_str()
            ));
        }
    };
    let mouse = match table.get("mouse") {
        None => true,
        Some(toml::Value::Boolean(b)) => *b,
        Some(other) => {
            return Err(format!(
                "`mouse` must be true or false, not {}",
                other.type_str()
            ));
        }
    };
    Ok((keys, mouse))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_differ() {
        let d = Theme::builtin("dark").expect("dark");
        let l = Theme::builtin("light").expect("light");
        let h = Theme::builtin("high-contrast").expect("hc");
        assert_eq!(d.name, "dark");
        assert_ne!(d.ok, l.ok);
        assert!(h.selection.add_modifier.contains(Modifier::REVERSED));
    }

    #[test]
    fn unknown_name_lists_the_available_ones() {
        let e = Theme::builtin("solarized").expect_err("unknown");
        assert!(e.contains("dark, light, high-contrast"), "{e}");
    }

    #[test]
    fn bad_toml_names_the_file() {
        let e = Theme::parse("roles = [", "/tmp/x.toml").expect_err("bad");
        assert!(e.contains("/tmp/x.toml"), "{e}");
        let e = Theme::parse("[roles]\nok = \"notacolour\"", "/tmp/y.toml").expect_err("bad");
        assert!(e.contains("ok") && e.contains("notacolour"), "{e}");
        let e = Theme::parse("[roles]\nokk = \"red\"", "/tmp/z.toml").expect_err("bad");
        assert!(e.contains("okk"), "{e}");
    }

    #[test]
    fn partial_file_inherits_dark() {
        let t = Theme::parse("[roles]\nok = \"#00ff00\"", "t.toml").expect("ok");
        assert_eq!(t.ok, Style::new().fg(Color::Rgb(0, 255, 0)));
        assert_eq!(t.bad, Theme::builtin("dark").expect("dark").bad);
    }

    #[test]
    fn without_color_keeps_modifiers() {
        let t = Theme::builtin("dark").expect("dark").without_color();
        for s in [t.ok, t.bad, t.selection, t.badge_live] {
            assert!(s.fg.is_none() && s.bg.is_none());
        }
        assert!(t.ok.add_modifier.contains(Modifier::BOLD));
        assert!(t.selection.add_modifier.contains(Modifier::REVERSED));
    }
}
