//! draw(): header, site panels, checklist, step detail, log, help, dialogs, theme.
//! Pure: reads `State`, writes the frame, performs no I/O.

pub mod logstore;
pub mod theme;

use ratatui::Frame;

use crate::app::State;
pub use theme::Theme;

/// What the runtime hands the painter besides the state: the theme and the log widget's state.
pub struct View<'a> {
    pub theme: &'a Theme,
    /// `None` in tests: the log pane then shows no tui-logger lines.
    pub log_state: Option<&'a tui_logger::TuiWidgetState>,
}

impl<'a> View<'a> {
    pub fn new(theme: &'a Theme, log_state: Option<&'a tui_logger::TuiWidgetState>) -> View<'a> {
        View { theme, log_state }
    }
}

pub fn draw(frame: &mut Frame, state: &State, view: &View) {
    let _ = (frame, state, view);
}
