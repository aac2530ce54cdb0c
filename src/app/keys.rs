//! Key bindings as data: the help overlay, the footer and the step detail's hints are built from
//! this table, so a key that works is a key that is listed — and the footer and hints list only
//! the keys that act on the selected step now ([`for_step`]).

use super::state::{Focus, Mode, State, StepPhase};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Up,
    Down,
    Top,
    Bottom,
    Run,
    Skip,
    Retry,
    Override,
    Note,
    MarkReviewed,
    MarkDone,
    Abort,
    ToggleFocus,
    Filter,
    ClearFilter,
    Follow,
    PageUp,
    PageDown,
    HalfPageUp,
    HalfPageDown,
    Expand,
    Timeline,
    Export,
    Declare,
    /// Issue 13: a watcher takes over driving.
    TakeOver,
    Yank,
    YankJournal,
    Help,
    Quit,
    /// Inside a y/n confirmation: run it. Never the key that opened it, never ⏎.
    Confirm,
}

/// Where a binding acts: the focused pane, both panes, or inside a y/n confirmation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ctx {
    Global,
    Checklist,
    Log,
    Dialog,
}

impl Ctx {
    pub fn as_str(self) -> &'static str {
        match self {
            Ctx::Global => "everywhere",
            Ctx::Checklist => "checklist",
            Ctx::Log => "log",
            Ctx::Dialog => "confirmation",
        }
    }
}

/// One key press: a key and whether Ctrl / Alt are held (Shift is in the character itself).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Chord {
    pub code: KeyCode,
    pub ctrl: bool,
    pub alt: bool,
}

impl Chord {
    /// `k`, `G`, `?`, `up`, `pgdn`, `home`, `enter`, `esc`, `tab`, `space`, `ctrl-d`, `alt-x`, `f1`…
    pub fn parse(s: &str) -> Result<Chord, String> {
        let mut rest = s.trim();
        let (mut ctrl, mut alt) = (false, false);
        loop {
            let lower = rest.to_ascii_lowercase();
            if rest.chars().count() > 2
                && (lower.starts_with("ctrl-") || lower.starts_with("ctrl+"))
            {
                ctrl = true;
                rest = &rest[5..];
            } else if rest.chars().count() > 2
                && (lower.starts_with("alt-") || lower.starts_with("alt+"))
            {
                alt = true;
                rest = &rest[4..];
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            (Some(c), None) => KeyCode::Char(c),
            _ => match rest.to_ascii_lowercase().as_str() {
                "up" | "↑" => KeyCode::Up,
                "down" | "↓" => KeyCode::Down,
                "left" | "←" => KeyCode::Left,
                "right" | "→" => KeyCode::Right,
                "pgup" | "pageup" => KeyCode::PageUp,
                "pgdn" | "pgdown" | "pagedown" => KeyCode::PageDown,
                "home" => KeyCode::Home,
                "end" => KeyCode::End,
                "enter" | "return" | "⏎" => KeyCode::Enter,
                "esc" | "escape" => KeyCode::Esc,
                "tab" => KeyCode::Tab,
                "backtab" | "shift-tab" => KeyCode::BackTab,
                "space" => KeyCode::Char(' '),
                "backspace" => KeyCode::Backspace,
                f if f.len() >= 2 && f.starts_with('f') && f[1..].parse::<u8>().is_ok() => {
                    KeyCode::F(f[1..].parse::<u8>().unwrap_or(1))
                }
                _ => {
                    return Err(format!(
                        "unknown key `{s}` (a character, or up down left right pgup pgdn home end enter esc tab backtab space f1…f12, with an optional ctrl- or alt-)"
                    ));
                }
            },
        };
        Ok(Chord { code, ctrl, alt })
    }

    pub fn of(key: &KeyEvent) -> Chord {
        Chord {
            code: key.code,
            ctrl: key.modifiers.contains(KeyModifiers::CONTROL),
            alt: key.modifiers.contains(KeyModifiers::ALT),
        }
    }

    /// How the key is shown in the help, the footer and docs/keys.md.
    pub fn label(&self) -> String {
        let base = match self.code {
            KeyCode::Char(' ') => "space".to_string(),
            KeyCode::Char(c) => c.to_string(),
            KeyCode::Up => "↑".into(),
            KeyCode::Down => "↓".into(),
            KeyCode::Left => "←".into(),
            KeyCode::Right => "→".into(),
            KeyCode::PageUp => "PgUp".into(),
            KeyCode::PageDown => "PgDn".into(),
            KeyCode::Home => "Home".into(),
            KeyCode::End => "End".into(),
            KeyCode::Enter => "⏎".into(),
            KeyCode::Esc => "Esc".into(),
            KeyCode::Tab => "tab".into(),
            KeyCode::BackTab => "shift-tab".into(),
            KeyCode::Backspace => "Backspace".into(),
            KeyCode::F(n) => format!("F{n}"),
            other => format!("{other:?}"),
        };
        match (self.ctrl, self.alt) {
            (true, _) => format!("Ctrl-{base}"),
            (false, true) => format!("Alt-{base}"),
            _ => base,
        }
    }
}

/// A default binding: the one table that key dispatch, the help overlay, the footer, the step
/// hints and docs/keys.md are built from (gitui's key list, yazi's keymap: one entry per
/// action, named so `config.toml` can rebind it).
pub struct Default {
    /// The name in `[keys]` of config.toml.
    pub name: &'static str,
    pub action: Action,
    pub ctx: Ctx,
    pub keys: &'static [&'static str],
    pub what: &'static str,
    /// Shown in the footer (the short list).
    pub footer: bool,
}

const fn d(
    name: &'static str,
    action: Action,
    ctx: Ctx,
    keys: &'static [&'static str],
    what: &'static str,
    footer: bool,
) -> Default {
    Default {
        name,
        action,
        ctx,
        keys,
        what,
        footer,
    }
}

use Ctx::{Checklist as C, Dialog as Dg, Global as G, Log as L};

pub const DEFAULTS: &[Default] = &[
    d(
        "up",
        Action::Up,
        C,
        &["up", "k"],
        "select the step above",
        false,
    ),
    d(
        "down",
        Action::Down,
        C,
        &["down", "j"],
        "select the step below",
        false,
    ),
    d("top", Action::Top, C, &["g", "home"], "first step", false),
    d(
        "bottom",
        Action::Bottom,
        C,
        &["G", "end"],
        "last step",
        false,
    ),
    d(
        "detail_page_up",
        Action::PageUp,
        C,
        &["pgup"],
        "scroll the step's output (else the step detail) up",
        false,
    ),
    d(
        "detail_page_down",
        Action::PageDown,
        C,
        &["pgdn"],
        "scroll the step's output (else the step detail) down",
        false,
    ),
    d(
        "detail_half_up",
        Action::HalfPageUp,
        C,
        &["ctrl-u"],
        "scroll the step detail up half a page",
        false,
    ),
    d(
        "detail_half_down",
        Action::HalfPageDown,
        C,
        &["ctrl-d"],
        "scroll the step detail down half a page",
        false,
    ),
    d(
        "run",
        Action::Run,
        C,
        &["enter"],
        "run a pending step (confirm with y or its typed word)",
        true,
    ),
    d("skip", Action::Skip, C, &["s"], "skip with a reason", true),
    d(
        "retry",
        Action::Retry,
        C,
        &["r"],
        "retry a failed or unknown step (asks again)",
        true,
    ),
    d(
        "override",
        Action::Override,
        C,
        &["o"],
        "override unmet preconditions (typed reason)",
        false,
    ),
    d(
        "mark_done",
        Action::MarkDone,
        C,
        &["d"],
        "mark an unknown step done (after checking)",
        false,
    ),
    d(
        "mark_reviewed",
        Action::MarkReviewed,
        C,
        &["m"],
        "mark reviewed with a note",
        true,
    ),
    d(
        "note",
        Action::Note,
        C,
        &["n"],
        "add a note to the journal",
        true,
    ),
    d(
        "declare",
        Action::Declare,
        C,
        &["D"],
        "declare the incident (journaled; the RTO clock runs from it)",
        false,
    ),
    d(
        "take_over",
        Action::TakeOver,
        C,
        &["T"],
        "watcher: take over driving the plan (type TAKEOVER; the driver becomes a watcher)",
        false,
    ),
    d(
        "abort",
        Action::Abort,
        C,
        &["A"],
        "abort the checklist (type ABORT)",
        false,
    ),
    d(
        "export",
        Action::Export,
        C,
        &["e"],
        "export the review record (Markdown, next to the journal)",
        true,
    ),
    d(
        "yank",
        Action::Yank,
        C,
        &["y"],
        "copy the step's exact call, redacted (OSC 52)",
        false,
    ),
    d(
        "log_page_up",
        Action::PageUp,
        L,
        &["pgup", "up", "k"],
        "scroll the log up (pauses follow)",
        false,
    ),
    d(
        "log_page_down",
        Action::PageDown,
        L,
        &["pgdn", "down", "j"],
        "scroll the log down",
        false,
    ),
    d(
        "log_half_up",
        Action::HalfPageUp,
        L,
        &["ctrl-u"],
        "scroll the log up (the log pane scrolls by pages)",
        false,
    ),
    d(
        "log_half_down",
        Action::HalfPageDown,
        L,
        &["ctrl-d"],
        "scroll the log down (the log pane scrolls by pages)",
        false,
    ),
    d(
        "follow",
        Action::Follow,
        L,
        &["f", "end"],
        "follow the newest lines",
        true,
    ),
    d(
        "clear_filter",
        Action::ClearFilter,
        L,
        &["esc"],
        "clear the filter, follow again",
        false,
    ),
    d(
        "yank_log",
        Action::Yank,
        L,
        &["y"],
        "copy the newest log line shown (OSC 52)",
        false,
    ),
    d(
        "focus",
        Action::ToggleFocus,
        G,
        &["tab", "backtab"],
        "switch focus checklist ↔ log",
        true,
    ),
    d("filter", Action::Filter, G, &["/"], "filter the log", true),
    d(
        "expand",
        Action::Expand,
        G,
        &["x"],
        "expand the site panels",
        false,
    ),
    d(
        "timeline",
        Action::Timeline,
        G,
        &["t"],
        "timeline: the journal so far",
        false,
    ),
    d(
        "yank_journal",
        Action::YankJournal,
        G,
        &["Y"],
        "copy the journal's path (OSC 52)",
        false,
    ),
    d("help", Action::Help, G, &["?"], "this help", true),
    d(
        "quit",
        Action::Quit,
        G,
        &["q", "ctrl-c"],
        "quit (asks while a step runs)",
        true,
    ),
    d(
        "confirm",
        Action::Confirm,
        Dg,
        &["y"],
        "in a y/n confirmation: run it (⏎ never confirms; n or Esc cancels)",
        false,
    ),
];

/// The live key map: [`DEFAULTS`] with the overrides of config.toml's `[keys]`.
#[derive(Debug, Clone, PartialEq)]
pub struct Keymap {
    /// Parallel to [`DEFAULTS`].
    pub chords: Vec<Vec<Chord>>,
}

impl std::default::Default for Keymap {
    fn default() -> Keymap {
        Keymap {
            chords: DEFAULTS
                .iter()
                .map(|d| d.keys.iter().filter_map(|k| Chord::parse(k).ok()).collect())
                .collect(),
        }
    }
}

/// Actions whose key opens a y/n confirmation: the confirming key must differ from them.
const OPENS_CONFIRMATION: &[Action] = &[Action::Run, Action::Retry, Action::Quit];

impl Keymap {
    /// Apply `[keys]` overrides (`quit = "Q"` or `up = ["k", "up"]`), then refuse a map in which
    /// one key does two things in one focus, or the confirming key could be pressed by accident.
    pub fn with_overrides(table: &toml::Table) -> Result<Keymap, String> {
        let mut map = Keymap::default();
        for (name, value) in table {
            let Some(i) = DEFAULTS.iter().position(|d| d.name == name) else {
                let names: Vec<&str> = DEFAULTS.iter().map(|d| d.name).collect();
                return Err(format!(
                    "[keys] `{name}` is not an action; the actions are: {}",
                    names.join(", ")
                ));
            };
            let keys: Vec<&str> = match value {
                toml::Value::String(s) => vec![s.as_str()],
                toml::Value::Array(a) => a
                    .iter()
                    .map(|v| {
                        v.as_str().ok_or_else(|| {
                            format!("[keys] `{name}`: each key must be a string, like \"q\"")
                        })
                    })
                    .collect::<Result<_, _>>()?,
                _ => {
                    return Err(format!(
                        "[keys] `{name}` must be a key (\"Q\") or a list of keys ([\"Q\", \"ctrl-c\"])"
                    ));
                }
            };
            if keys.is_empty() {
                return Err(format!(
                    "[keys] `{name}` has no key: it could never be pressed"
                ));
            }
            map.chords[i] = keys
                .iter()
                .map(|k| Chord::parse(k).map_err(|e| format!("[keys] `{name}`: {e}")))
                .collect::<Result<_, _>>()?;
        }
        map.validate()?;
        Ok(map)
    }

    fn validate(&self) -> Result<(), String> {
        for focus in [Ctx::Checklist, Ctx::Log] {
            let mut seen: Vec<(Chord, usize)> = Vec::new();
            for (i, d) in DEFAULTS.iter().enumerate() {
                if d.ctx != focus && d.ctx != Ctx::Global {
                    continue;
                }
                for c in &self.chords[i] {
                    if let Some((_, j)) = seen.iter().find(|(s, _)| s == c)
                        && DEFAULTS[*j].action != d.action
                    {
                        return Err(format!(
                            "[keys] `{}` is bound to both `{}` and `{}` in the {} focus; give one of them another key",
                            c.label(),
                            DEFAULTS[*j].name,
                            d.name,
                            focus.as_str()
                        ));
                    }
                    seen.push((*c, i));
                }
            }
        }
        let confirm = self.keys_of(Ctx::Dialog, Action::Confirm);
        for c in &confirm {
            if matches!(c.code, KeyCode::Enter | KeyCode::Esc)
                || !c.ctrl && !c.alt && matches!(c.code, KeyCode::Char('n' | 'N'))
            {
                return Err(format!(
                    "[keys] `confirm` cannot be `{}`: ⏎ never confirms a change, and n / Esc cancel",
                    c.label()
                ));
            }
            for (i, d) in DEFAULTS.iter().enumerate() {
                if OPENS_CONFIRMATION.contains(&d.action) && self.chords[i].contains(c) {
                    return Err(format!(
                        "[keys] `confirm` and `{}` are both `{}`: the key that opens a confirmation must not be the key that confirms it (a double press would run the step)",
                        d.name,
                        c.label()
                    ));
                }
            }
        }
        Ok(())
    }

    /// The action of a key in a context (the focus first, then the keys that work everywhere).
    /// Alt falls back to the plain key when nothing is bound with Alt: over a slow link an Esc
    /// followed by a key arrives as Alt+key (Esc then `q` must still quit). Ctrl never falls
    /// back: Ctrl-d scrolls, it is not `d` (mark done).
    pub fn action(&self, ctx: Ctx, key: &KeyEvent) -> Option<Action> {
        let chord = Chord::of(key);
        let find = |chord: Chord| {
            let hit = |want: Ctx| {
                DEFAULTS
                    .iter()
                    .zip(&self.chords)
                    .find(|(d, cs)| d.ctx == want && cs.contains(&chord))
                    .map(|(d, _)| d.action)
            };
            hit(ctx).or_else(|| {
                if ctx == Ctx::Dialog {
                    None
                } else {
                    hit(Ctx::Global)
                }
            })
        };
        find(chord).or_else(|| {
            chord
                .alt
                .then(|| {
                    find(Chord {
                        alt: false,
                        ..chord
                    })
                })
                .flatten()
        })
    }

    pub fn keys_of(&self, ctx: Ctx, action: Action) -> Vec<Chord> {
        DEFAULTS
            .iter()
            .zip(&self.chords)
            .filter(|(d, _)| d.ctx == ctx && d.action == action)
            .flat_map(|(_, c)| c.iter().copied())
            .collect()
    }

    /// `↑/k`: how the keys of a binding are shown.
    pub fn label(&self, i: usize) -> String {
        self.chords[i]
            .iter()
            .map(Chord::label)
            .collect::<Vec<_>>()
            .join("/")
    }

    /// The label of the confirming key (`y` unless config.toml says otherwise).
    pub fn confirm_label(&self) -> String {
        self.keys_of(Ctx::Dialog, Action::Confirm)
            .first()
            .map(Chord::label)
            .unwrap_or_else(|| "y".into())
    }

    /// docs/keys.md: every binding, by where it acts (a test keeps the committed file current).
    pub fn markdown(&self) -> String {
        let mut s = String::from(
            "# Keys\n\n<!-- Generated from src/app/keys.rs (DEFAULTS) by `DRCOCKPIT_WRITE_DOCS=1 cargo test --test ui keys_md`; do not edit. -->\n\n\
             Every key can be rebound in `$XDG_CONFIG_HOME/drcockpit/config.toml` (else\n\
             `~/.config/drcockpit/config.toml`) under `[keys]`, by the name in the first column:\n\n\
             ```toml\n[keys]\nquit = \"Q\"\nup = [\"up\", \"i\"]\ndown = [\"down\", \"k\"]\n```\n\n\
             A key may be a character (`q`, `G`, `?`), `up` `down` `left` `right` `pgup` `pgdn` `home` `end`\n\
             `enter` `esc` `tab` `backtab` `space` `f1`…`f12`, with an optional `ctrl-` or `alt-`. The\n\
             cockpit refuses to start with a config that binds one key to two actions in one focus, or\n\
             whose `confirm` key is ⏎, `n`, Esc or a key that opens a confirmation (`run`, `retry`, `quit`).\n\
             Keys are refused where they cannot act (read-only modes list no mutating key). An\n\
             auto-repeated (held) key only moves or scrolls: it never opens, confirms or runs anything.\n\
             `mouse = false` in the same file (or `--no-mouse`) turns the mouse off.\n",
        );
        for ctx in [Ctx::Checklist, Ctx::Log, Ctx::Global, Ctx::Dialog] {
            s.push_str(&format!(
                "\n## {}\n\n| name | keys | what |\n|---|---|---|\n",
                match ctx {
                    Ctx::Global => "Both panes",
                    Ctx::Checklist => "Checklist focus",
                    Ctx::Log => "Log focus",
                    Ctx::Dialog => "In a y/n confirmation",
                }
            ));
            for (i, d) in DEFAULTS.iter().enumerate().filter(|(_, d)| d.ctx == ctx) {
                let keys = self.label(i).replace('|', "\\|");
                s.push_str(&format!("| `{}` | `{keys}` | {} |\n", d.name, d.what));
            }
        }
        s.push_str(
            "\n## Mouse\n\n| | |\n|---|---|\n| wheel over the log | scroll the log |\n\
             | wheel over the step detail | page through the step's output, else scroll the step detail |\n\
             | wheel in the timeline | scroll the timeline |\n\
             | click on a step | select it (a click never runs anything) |\n\
             \n## Timeline and help\n\nThe timeline scrolls with the checklist's `up` `down` `detail_page_up` `detail_page_down`\n\
             `top` `bottom` keys; `timeline`, `q` or Esc close it. `?`, `q`, Esc or ⏎ close the help.\n",
        );
        s
    }
}

/// A binding as shown: its keys (from the live map) and what it does.
pub struct Binding {
    /// Every key, as the help shows them (`↑/k`).
    pub keys: String,
    /// The first key only, as the footer shows it (it is short on room).
    pub key: String,
    pub action: Action,
    pub what: &'static str,
    /// Shown in the footer (the short list).
    pub footer: bool,
}

/// Does this action have a use in this mode? Keys that cannot act in a mode are not listed (k9s:
/// read-only hides mutating keys) — and the dispatcher refuses them anyway.
fn in_mode(action: Action, mode: Mode) -> bool {
    match action {
        Action::Skip
        | Action::Retry
        | Action::Override
        | Action::MarkDone
        | Action::Declare
        | Action::Abort => mode.may_mutate(),
        Action::Note => mode != Mode::Monitor,
        Action::TakeOver => mode == Mode::Monitor,
        Action::Run => mode != Mode::Monitor,
        Action::MarkReviewed | Action::Export => mode == Mode::Review,
        _ => true,
    }
}

fn bindings(map: &Keymap, ctx: Ctx, mode: Mode) -> Vec<Binding> {
    DEFAULTS
        .iter()
        .enumerate()
        .filter(|(_, d)| d.ctx == ctx && in_mode(d.action, mode))
        .map(|(i, d)| Binding {
            keys: map.label(i),
            key: map.chords[i].first().map(Chord::label).unwrap_or_default(),
            action: d.action,
            what: if d.action == Action::Run && mode == Mode::Review {
                "show exact calls + run read-only preflight"
            } else {
                d.what
            },
            footer: d.footer,
        })
        .collect()
}

/// Bindings for the checklist focus in a mode (with the ones that work in both panes).
pub fn checklist(map: &Keymap, mode: Mode) -> Vec<Binding> {
    let mut v = bindings(map, Ctx::Checklist, mode);
    v.extend(common(map, mode));
    v
}

pub fn log(map: &Keymap, mode: Mode) -> Vec<Binding> {
    let mut v = bindings(map, Ctx::Log, mode);
    v.extend(common(map, mode));
    v
}

fn common(map: &Keymap, mode: Mode) -> Vec<Binding> {
    bindings(map, Ctx::Global, mode)
}

pub fn for_focus(state: &State) -> Vec<Binding> {
    match state.focus {
        Focus::Checklist => checklist(&state.keys, state.mode),
        Focus::Log => log(&state.keys, state.mode),
    }
}

/// The step keys that act on step `i` now — in the mode and the step's state — taken from the
/// [`checklist`] table. The one list the footer and the step detail's hints are both built from:
/// a key offered is a key that acts (⏎ on a finished step is not offered, and does nothing).
pub fn for_step(state: &State, i: usize) -> Vec<Binding> {
    if i >= state.steps.len() || state.dialog().is_some() {
        return Vec::new();
    }
    let mut v: Vec<Binding> = bindings(&state.keys, Ctx::Checklist, state.mode)
        .into_iter()
        .filter(|b| applies(state, i, b.action))
        .collect();
    // The way forward first (run, retry, override…), the way around (skip, abort) next.
    v.sort_by_key(|b| {
        [
            Action::Run,
            Action::MarkReviewed,
            Action::Retry,
            Action::Override,
            Action::MarkDone,
            Action::Skip,
            Action::Abort,
            Action::Note,
        ]
        .iter()
        .position(|a| *a == b.action)
        .unwrap_or(usize::MAX)
    });
    v
}

fn applies(state: &State, i: usize, action: Action) -> bool {
    let run = &state.steps[i];
    let journal_ok = state.journal_error.is_none();
    if state.mode == Mode::Review {
        return match action {
            Action::Run | Action::Export => true,
            Action::MarkReviewed | Action::Note => journal_ok,
            _ => false,
        };
    }
    if !state.mode.may_mutate() || !journal_ok {
        return false;
    }
    if action == Action::Note {
        return true;
    }
    if state.aborted.is_some() {
        return false;
    }
    let can_start = || state.why_not_run(i).is_none();
    let overridable = || run.override_reason.is_none() && !state.unmet(i).is_empty();
    match (&run.phase, action) {
        (StepPhase::Pending, Action::Run) => can_start(),
        (StepPhase::Failed { .. } | StepPhase::Unknown { .. }, Action::Retry) => can_start(),
        (
            StepPhase::Pending | StepPhase::Failed { .. } | StepPhase::Unknown { .. },
            Action::Skip,
        ) => true,
        (
            StepPhase::Pending | StepPhase::Failed { .. } | StepPhase::Unknown { .. },
            Action::Override,
        ) => overridable(),
        (StepPhase::Unknown { .. }, Action::MarkDone) => true,
        // Abort always works (A), but is offered where it is the way out: a failed step.
        (StepPhase::Failed { .. }, Action::Abort) => true,
        _ => false,
    }
}

/// The short word for an action in the footer and the step detail's hints.
pub fn short(action: Action, mode: Mode) -> &'static str {
    match action {
        Action::Run if mode == Mode::Review => "calls + preflight",
        Action::Run => "run",
        Action::Skip => "skip",
        Action::Retry => "retry",
        Action::Override => "override",
        Action::Note => "note",
        Action::MarkReviewed => "reviewed",
        Action::MarkDone => "mark done",
        Action::Abort => "abort",
        Action::ToggleFocus => "focus",
        Action::Filter => "filter log",
        Action::ClearFilter => "clear filter",
        Action::Follow => "follow",
        Action::PageUp | Action::PageDown | Action::HalfPageUp | Action::HalfPageDown => "scroll",
        Action::Yank => "copy",
        Action::YankJournal => "copy journal path",
        Action::Confirm => "confirm",
        Action::Expand => "expand",
        Action::Timeline => "timeline",
        Action::Export => "export review",
        Action::Declare => "declare",
        Action::TakeOver => "take over",
        Action::Help => "help",
        Action::Quit => "quit",
        Action::Up | Action::Down => "select",
        Action::Top | Action::Bottom => "first/last",
    }
}

/// The footer when no dialog or overlay is open: the selected step's keys (checklist focus),
/// then the keys that always work in this focus.
pub fn footer(state: &State) -> Vec<(String, String)> {
    let pair = |b: &Binding| (b.key.clone(), short(b.action, state.mode).to_string());
    let mut v: Vec<(String, String)> = match state.focus {
        Focus::Checklist => for_step(state, state.selected).iter().map(pair).collect(),
        Focus::Log => bindings(&state.keys, Ctx::Log, state.mode)
            .iter()
            .filter(|b| b.footer)
            .map(pair)
            .collect(),
    };
    v.extend(
        common(&state.keys, state.mode)
            .iter()
            .filter(|b| b.footer)
            .map(pair),
    );
    v
}
