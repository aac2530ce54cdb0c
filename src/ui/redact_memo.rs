//! The screen's redaction, remembered between frames. Every drawn string goes through
//! [`crate::redact::redact`], and with a big environment the registry holds thousands of secret
//! forms (a token per registry repository): one call costs a pass over all of them, and a frame
//! of 500 services draws hundreds of strings — most the same as on the previous frame (issue 15,
//! "a full render stays ≤ 1 ms"). The answer for a text depends only on the text and the
//! registered forms, so it is kept per text and all of it forgotten as soon as a form is
//! registered ([`crate::redact::registered_count`] grows with every new form and never shrinks):
//! a secret registered after a text was first drawn is redacted from the next frame on, exactly
//! as without the memo.

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
}

thread_local! {
    // Drawing happens on one thread; a memo per thread needs no lock.
    static MEMO: RefCell<Memo> = RefCell::new(Memo::default());
}

/// `crate::redact::redact(s)`, owned: the same text, from the memo when `s` was redacted since
/// the last secret form was registered.
pub(crate) fn redacted(s: &str) -> String {
    let forms = crate::redact::registered_count();
    MEMO.with(|m| {
        let Ok(mut m) = m.try_borrow_mut() else {
            return crate::redact::redact(s).into_owned();
        };
        if m.forms != forms {
            m.texts.clear();
            m.forms = forms;
        }
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
                }
            }
        }
    }
}
