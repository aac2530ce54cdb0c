//! The redactor with thousands of registered forms (a big environment registers one token per
//! registry repository): it finds them through one automaton, and must give exactly what the
//! plain scan gives — every form replaced by its label, the longest first, labels left alone —
//! also for a secret registered a moment after the automaton was built.

use drcockpit::redact::{redact, register};

fn secret(i: usize) -> String {
    format!("tok-{i:04}-Zq8sWk3vLm")
}

#[test]
fn many_secrets_are_all_replaced_and_a_late_one_too() {
    for i in 0..300 {
        register(&secret(i), &format!("registry token {i}"));
    }
    // A secret that contains another: the longer one wins, whole.
    register("tok-0007-Zq8sWk3vLm-extended", "longer token");
    let text = format!(
        "GET /v2/a {} then {} and {} and tok-0007-Zq8sWk3vLm-extended, ok",
        secret(3),
        secret(299),
        secret(150)
    );
    let out = redact(&text).into_owned();
    assert!(!out.contains("Zq8sWk3vLm"), "{out}");
    assert!(out.contains("‹secret registry token 3›"), "{out}");
    assert!(out.contains("‹secret registry token 299›"), "{out}");
    assert!(out.contains("‹secret longer token›"), "{out}");
    assert_eq!(redact(&out), out, "redacting twice changes nothing");

    // Registered right after the automaton was built: the plain scan covers it until the next
    // rebuild, so it is never shown.
    register("late-secret-9x7Vb2", "late token");
    let out = redact("now late-secret-9x7Vb2 and tok-0100-Zq8sWk3vLm").into_owned();
    assert_eq!(
        out, "now ‹secret late token› and ‹secret registry token 100›",
        "{out}"
    );
    // Text with no secret comes back borrowed and unchanged.
    assert!(matches!(
        redact("svc-123 deployed 500/500"),
        std::borrow::Cow::Borrowed(_)
    ));
}

#[test]
fn a_secret_with_a_trailing_space_is_redacted_where_it_is_shown_without_it() {
    // Found by `redaction::no_form_of_a_secret_reaches_any_output` with `"jN$/p2wb~_&L "`: the
    // child's output line as drawn no longer held the trailing space.
    register("jN$/p2wb~_&L ", "step leaky: argument");
    let out = redact("out=jN$/p2wb~_&L").into_owned();
    assert!(!out.contains("p2wb"), "{out}");
}
