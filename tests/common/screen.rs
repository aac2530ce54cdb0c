//! The screen as a test sees it: `ui::draw` of a state into a TestBackend, read back as text.

use drcockpit::app::State;
use drcockpit::ui::{self, Theme, View};
use ratatui::Terminal;
use ratatui::backend::TestBackend;

/// One full frame of `state` at `w`×`h` in the dark theme.
pub fn render(state: &State, w: u16, h: u16) -> Terminal<TestBackend> {
    let theme = Theme::builtin("dark").unwrap_or_default();
    let mut term = Terminal::new(TestBackend::new(w, h)).expect("test backend");
    term.draw(|f| ui::draw(f, state, &View::new(&theme, None)))
        .expect("draw");
    term
}

/// The screen's text, one line per row (wide characters once).
pub fn text(term: &Terminal<TestBackend>) -> String {
    let buf = term.backend().buffer();
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut skip = 0;
        for x in 0..buf.area.width {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            let s = buf[(x, y)].symbol();
            skip = unicode_width::UnicodeWidthStr::width(s).saturating_sub(1);
            out.push_str(s);
        }
        out.push('\n');
    }
    out
}
