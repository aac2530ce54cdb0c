//! The screen's redaction, remembered between frames. Every drawn string goes through
//! [`crate::redact::redact`], and with a big environment the registry holds thousands of secret
//! forms (a token per registry repository): one call costs a pass over all of them, and a frame
//! of 500 services draws hundreds of strings — most the same as on the previous frame (issue 15,
//! "a full render stays ≤ 1 ms"). The answer for a text depends only on the text and the
//! registered forms, so it is kept per text and all of it forgotten as soon as a form is
//! registered ([`crate::redact::registered_count`] grows with every new form and never shrinks):
//! a secret registered after a text was first drawn is redacted from the next frame on, exactly
//! as without the memo. The expanded panels' detail lines are kept the same way once reordered,
//! redacted and wrapped ([`detail_pieces`]): the same few dozen lines are drawn frame after frame.

use std::cell::RefCell;
use std::collections::HashMap;

/// Texts remembered at most; beyond, the memo starts again (a frame draws a few hundred).
const CAPACITY: usize = 4096;

#[derive(Default)]
struct Memo {
    /// `registered_count()` when the texts below were redacted.
    forms: usize,
    /// Text → its redacted form, `None` when redaction leaves it as it is.
    texts: HashMap<Box<str>, Option<Box<str>>>,
    /// Width → detail line → its pieces as drawn ([`detail_pieces`]).
    pieces: HashMap<usize, HashMap<Box<str>, Vec<String>>>,
}

impl Memo {
    /// Forget everything when a secret form was registered since it was remembered.
    fn current(&mut self) -> &mut Memo {
        let forms = crate::redact::registered_count();
        if self.forms != forms {
            self.texts.clear();
            self.pieces.clear();
            self.forms = forms;
        }
        self
    }
}

thread_local! {
    // Drawing happens on one thread; a memo per thread needs no lock.
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

/// `crate::redact::redact(s)`, owned: the same text, from the memo when `s` was redacted since
/// the last secret form was registered.
pub(crate) fn redacted(s: &str) -> String {
    MEMO.with(|m| {
        let Ok(mut m) = m.try_borrow_mut() else {
            return crate::redact::redact(s).into_owned();
        };
        let m = m.current();
        if let Some(done) = m.texts.get(s) {
            return done.as_deref().unwrap_or(s).to_string();
        }
        let out = crate::redact::redact(s);
        let kept = match &out {
            std::borrow::Cow::Borrowed(_) => None,
            std::borrow::Cow::Owned(o) => Some(Box::from(o.as_str())),
        };
        if m.texts.len() >= CAPACITY {
            m.texts.clear();
        }
        m.texts.insert(Box::from(s), kept);
        out.into_owned()
    })
}

/// A detail line of the expanded panels as drawn in `w` columns: reordered
/// ([`super::panel_row::ordered`]), redacted, wrapped ([`super::panel_row::wrap`]).
pub(crate) fn detail_pieces(line: &str, w: usize) -> Vec<String> {
    let known = MEMO.with(|m| {
        let mut m = m.try_borrow_mut().ok()?;
        let m = m.current();
        Some((m.forms, m.pieces.get(&w).and_then(|p| p.get(line)).cloned()))
    });
    if let Some((_, Some(p))) = known {
        return p;
    }
    let pieces = super::panel_row::wrap(&redacted(&super::panel_row::ordered(line)), w);
    MEMO.with(|m| {
        let Ok(mut m) = m.try_borrow_mut() else {
            return;
        };
        let m = m.current();
        // Kept only if no form was registered while it was being made (it may predate it).
        if known.map(|(forms, _)| forms) != Some(m.forms) {
            return;
        }
        if m.pieces.len() >= 8 || m.pieces.get(&w).is_some_and(|p| p.len() >= CAPACITY) {
            m.pieces.clear();
        }
        m.pieces
            .entry(w)
            .or_default()
            .insert(Box::from(line), pieces.clone());
    });
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_secret_registered_after_a_text_was_drawn_is_redacted_from_then_on() {
        let text = "token: memo-late-secret-4417 in the last reading";
        assert_eq!(redacted(text), text);
        assert_eq!(redacted(text), text, "remembered, unchanged");
        crate::redact::register("memo-late-secret-4417", "env:MEMO_TEST");
        let after = redacted(text);
        assert!(!after.contains("memo-late-secret-4417"), "{after}");
        assert_eq!(after, crate::redact::redact(text));
        assert_eq!(redacted(text), after, "remembered, redacted");
    }

    #[test]
    fn urls_are_masked_through_the_memo() {
        let text = "GET https://user:pa55word@registry.example.test/v2/ failed";
        assert_eq!(redacted(text), crate::redact::redact(text));
        assert_eq!(redacted(text), crate::redact::redact(text));
        assert!(!redacted(text).contains("pa55word"));
    }

    #[test]
    fn the_memo_forgets_beyond_its_capacity() {
        for n in 0..CAPACITY + 10 {
            let t = format!("line number {n} of a long list");
            assert_eq!(redacted(&t), t);
        }
        MEMO.with(|m| assert!(m.borrow().texts.len() <= CAPACITY));
    }

    #[test]
    fn detail_pieces_are_the_lines_wrapped_and_follow_a_late_secret() {
        use crate::ui::panel_row::{ordered, wrap};
        let line = "api-7 → DR TTL 60 · token memo-pieces-secret-9921 seen in the last response";
        let direct = |w| wrap(&crate::redact::redact(&ordered(line)), w);
        for w in [12, 30, 200] {
            assert_eq!(detail_pieces(line, w), direct(w));
            assert_eq!(detail_pieces(line, w), direct(w), "remembered");
        }
        crate::redact::register("memo-pieces-secret-9921", "env:MEMO_PIECES");
        for w in [12, 30, 200] {
            let p = detail_pieces(line, w);
            assert_eq!(p, direct(w));
            assert!(p.iter().all(|l| !l.contains("9921")), "{p:?}");
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Remembered or not, the memo answers what the redactor answers, secrets among the
        /// texts included (registered while the texts are being drawn).
        #[test]
        fn the_memo_answers_what_the_redactor_answers(
            texts in proptest::collection::vec("[a-z:/@ .·→✗0-9-]{0,40}", 1..20),
            secret in "[a-z0-9]{6,12}",
            at in 0usize..20,
        ) {
            let secret = format!("memo-prop-{secret}");
            let texts: Vec<String> = texts
                .iter()
                .enumerate()
                .map(|(i, t)| if i % 3 == 0 { format!("{t} {secret} {t}") } else { t.clone() })
                .collect();
            for round in 0..2 {
                for (i, t) in texts.iter().enumerate() {
                    if round == 0 && i == at.min(texts.len() - 1) {
                        crate::redact::register(&secret, "env:MEMO_PROP");
                    }
                    prop_assert_eq!(redacted(t), crate::redact::redact(t).into_owned());
                    let w = 8 + i * 3;
                    let direct = crate::ui::panel_row::wrap(
                        &crate::redact::redact(&crate::ui::panel_row::ordered(t)),
                        w,
                    );
                    prop_assert_eq!(detail_pieces(t, w), direct);
                }
            }
        }
    }
}
