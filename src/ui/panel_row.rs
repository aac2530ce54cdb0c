//! One site-panel row fitted to its width. A reading's text is a list of ` · ` segments written
//! by its probe; on a narrow terminal a plain cut at the right edge removed exactly the words that
//! explain the verdict (`differ: api`, `→ DR TTL 60`, `≠ different`). Here the segments that
//! explain the verdict (marks, problem labels, counts) go first, the other facts after, and a cut
//! removes those other facts first — always marked with `…`. The expanded view wraps instead.

use unicode_width::UnicodeWidthStr;

use super::trunc;

const SEP: &str = " · ";
/// Marks that open a verdict: the panels' own and the probes' per-item ones.
const MARKS: [&str; 6] = ["✗ ", "≠ ", "? ", "! ", "✓ ", "→ "];
/// Words that name a problem (or a direction, for DNS) inside a segment.
const PROBLEM_WORDS: [&str; 17] = [
    "missing",
    "differ",
    "unread",
    "SPLIT BRAIN",
    "at risk",
    "no backup",
    "(> ",
    " NS",
    "split",
    "neither",
    "failing",
    "unreachable",
    "not deployed",
    "unreadable",
    // Parity (issue 16): `3 drifts`, `FEATURE_X set in prod only`, `api 1.4.2 in prod, 1.4.1 in DR`.
    "drift",
    " only",
    " in DR",
];

/// How much a segment explains the row's verdict: kept first, cut last.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Rank {
    /// A mark or a problem label (`✗ missing`, `differ: api`, `→ DR TTL 60`).
    Verdict,
    /// A count (`2/3 synced`, `500 services: 497 ok, 3 failing`).
    Count,
    /// Any other fact (a record name, a state word, an age).
    Fact,
}

#[derive(Debug, Clone)]
struct Seg {
    text: String,
    rank: Rank,
}

fn rank_of(s: &str) -> Rank {
    if MARKS
        .iter()
        .any(|m| s.starts_with(m) || s.ends_with(m.trim_end()))
        || s.ends_with("✗ missing")
        || s.ends_with("≠ different")
        || PROBLEM_WORDS.iter().any(|w| s.contains(w))
    {
        Rank::Verdict
    } else if s.starts_with(|c: char| c.is_ascii_digit())
        && (s.contains('/') || s.contains(" services"))
    {
        Rank::Count
    } else {
        Rank::Fact
    }
}

/// The segments of `text`, those that explain the verdict first (the probe's order kept among
/// equals). `shop.example.test → DR TTL 60` becomes `→ DR TTL 60` then `shop.example.test`: where
/// the record points is the verdict, its name a fact.
fn segments(text: &str) -> Vec<Seg> {
    let mut segs = Vec::new();
    let mut tail = Vec::new();
    for part in text.split(SEP) {
        match part.split_once(" → ") {
            Some((name, to)) if !name.is_empty() && !name.contains(' ') => {
                segs.push(format!("→ {to}"));
                tail.push(name.to_string());
            }
            _ => segs.push(part.to_string()),
        }
    }
    let mut out: Vec<Seg> = segs
        .into_iter()
        .chain(tail)
        .map(|text| Seg {
            rank: rank_of(&text),
            text,
        })
        .collect();
    // When something explains the verdict: verdict and count segments first, in the probe's
    // order (counts stay ahead of the labels they count: `2/3 synced · missing: worker`). A row
    // with nothing to explain (`shop DEPLOYED · 4/4`) keeps the probe's order.
    if out.iter().any(|s| s.rank == Rank::Verdict) {
        out.sort_by_key(|s| s.rank == Rank::Fact);
    }
    out
}

/// `text` reordered (see [`segments`]) without cutting: the expanded view and the wide layout.
pub fn ordered(text: &str) -> String {
    join(&segments(text))
}

fn join(segs: &[Seg]) -> String {
    segs.iter()
        .map(|s| s.text.as_str())
        .collect::<Vec<_>>()
        .join(SEP)
}

/// A list segment (`missing: a, b, c`) split into its head (`missing`) and items; `None` when it
/// is no list (a count such as `500 services: 497 ok, 3 failing` is none either, nor a reason
/// such as `→ none: no A record`).
fn list_of(s: &str) -> Option<(String, Vec<String>)> {
    if s.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let (head, list) = s.split_once(": ")?;
    // A label of one word (`missing`, `differ`, `failing`), not a sentence (`→ none: no A …`).
    if head.contains(' ') || head.is_empty() {
        return None;
    }
    Some((
        head.to_string(),
        list.split(", ").map(str::to_string).collect(),
    ))
}

/// A list showing its first `shown` items: `missing: a, b +3`, or `missing ×5` with none.
fn list_text(head: &str, items: &[String], shown: usize) -> String {
    match shown {
        0 => format!("{head} ×{}", items.len()),
        n if n >= items.len() => format!("{head}: {}", items.join(", ")),
        n => format!("{head}: {} +{}", items[..n].join(", "), items.len() - n),
    }
}

/// `prefix` (the verdict icon) then `text`'s segments fitted to `w` columns: facts are dropped
/// first, then counts, then lists shortened (`+N`, then `×N`); whatever is cut is marked with
/// `…`. Only when even that cannot fit is the line cut at the edge (also marked).
pub fn fit(prefix: &str, text: &str, w: usize) -> String {
    let segs = segments(text);
    let line = |segs: &[Seg], cut: bool| {
        let body = join(segs);
        let mark = if cut { " …" } else { "" };
        format!("{prefix}{body}{mark}")
    };
    let full = line(&segs, false);
    if full.width() <= w {
        return full;
    }
    let mut kept = segs.clone();
    // Facts, then counts, from the end: each removal is marked by the trailing ` …`.
    for rank in [Rank::Fact, Rank::Count] {
        while let Some(i) = kept.iter().rposition(|s| s.rank == rank) {
            if kept.len() == 1 {
                break;
            }
            // The last segment of the row is cut short rather than dropped when a useful part
            // of it fits (`last good 42…`).
            if i + 1 == kept.len() {
                let before = line(&kept[..i], false).width() + SEP.width();
                let room = w.saturating_sub(before);
                if room >= 8 && kept.len() == segs.len() {
                    kept[i].text = trunc(&kept[i].text, room);
                    return line(&kept, false);
                }
            }
            kept.remove(i);
            let l = line(&kept, true);
            if l.width() <= w {
                return l;
            }
        }
    }
    // Lists shortened one item at a time, the one showing most first: the labels stay. Widths
    // are counted, not measured on rebuilt lines, so a list of 500 names costs one pass rather
    // than 500 rejoins (issue 15, "a full render stays ≤ 1 ms"); the line is built once.
    let mut lists: Vec<Option<List>> = kept.iter().map(|s| List::of(&s.text)).collect();
    let prefix_w = prefix.width();
    let width = |kept: &[Seg], lists: &[Option<List>], cut: bool| {
        let body: usize = kept
            .iter()
            .zip(lists)
            .map(|(s, l)| l.as_ref().map_or_else(|| s.text.width(), List::width))
            .sum();
        prefix_w + body + SEP.width() * kept.len().saturating_sub(1) + if cut { 2 } else { 0 }
    };
    let build = |kept: &mut Vec<Seg>, lists: &[Option<List>], cut: bool| {
        for (s, l) in kept.iter_mut().zip(lists) {
            if let Some(l) = l {
                s.text = l.text();
            }
        }
        line(kept, cut)
    };
    loop {
        let cut = kept.len() < segs.len();
        if width(&kept, &lists, cut) <= w {
            let l = build(&mut kept, &lists, cut);
            // Counted widths add up unless a segment joins a neighbour into one wider
            // grapheme (an emoji sequence): then the edge cut keeps the promise.
            return if l.width() <= w { l } else { trunc(&l, w) };
        }
        let Some(i) = (0..kept.len())
            .filter(|i| lists[*i].as_ref().is_some_and(|l| l.shown > 0))
            .max_by_key(|i| lists[*i].as_ref().map_or((0, 0), |l| (l.shown, l.width())))
        else {
            // Even `missing ×2` does not fit: drop such lists from the end (the expanded view
            // names them), marked, before cutting at the edge.
            if let Some(i) = (1..kept.len()).rev().find(|i| lists[*i].is_some()) {
                kept.remove(i);
                lists.remove(i);
                if width(&kept, &lists, true) <= w {
                    let l = build(&mut kept, &lists, true);
                    if l.width() <= w {
                        return l;
                    }
                }
                continue;
            }
            return trunc(&build(&mut kept, &lists, cut), w);
        };
        if let Some(l) = lists[i].as_mut() {
            l.shown -= 1;
        }
    }
}

/// A list segment being shortened: its head, its items and their widths summed (`sums[n]` is
/// the first `n` items'), and how many are shown.
struct List {
    head: String,
    items: Vec<String>,
    sums: Vec<usize>,
    shown: usize,
}

impl List {
    fn of(text: &str) -> Option<List> {
        let (head, items) = list_of(text)?;
        let mut sums = Vec::with_capacity(items.len() + 1);
        sums.push(0);
        for it in &items {
            sums.push(sums[sums.len() - 1] + it.width());
        }
        let shown = items.len();
        Some(List {
            head,
            items,
            sums,
            shown,
        })
    }

    /// The width of [`List::text`], counted.
    fn width(&self) -> usize {
        let (len, n) = (self.items.len(), self.shown);
        let digits = |k: usize| k.checked_ilog10().map_or(1, |d| d as usize + 1);
        let head = self.head.width();
        match n {
            0 => head + 2 + digits(len),
            n if n >= len => head + 2 + self.sums[len] + 2 * len.saturating_sub(1),
            n => head + 2 + self.sums[n] + 2 * (n - 1) + 2 + digits(len - n),
        }
    }

    fn text(&self) -> String {
        list_text(&self.head, &self.items, self.shown)
    }
}

/// `text` wrapped to `w` columns on spaces (a word longer than a line is cut into pieces);
/// continuation lines are indented by two columns.
pub fn wrap(text: &str, w: usize) -> Vec<String> {
    let w = w.max(4);
    let mut lines = Vec::new();
    let mut cur = String::new();
    for word in text.split(' ') {
        let indent = if lines.is_empty() { 0 } else { 2 };
        let room = w - indent;
        let need = if cur.is_empty() {
            word.width()
        } else {
            cur.width() + 1 + word.width()
        };
        if need <= room {
            if !cur.is_empty() {
                cur.push(' ');
            }
            cur.push_str(word);
            continue;
        }
        if !cur.is_empty() {
            lines.push(std::mem::take(&mut cur));
        }
        // A word wider than a line: pieces of it.
        let mut rest = word.to_string();
        let room = w - 2;
        while rest.width() > room {
            let mut piece = String::new();
            for c in rest.chars() {
                if (piece.clone() + &c.to_string()).width() > room {
                    break;
                }
                piece.push(c);
            }
            if piece.is_empty() {
                break;
            }
            rest = rest[piece.len()..].to_string();
            lines.push(piece);
        }
        cur = rest;
    }
    if !cur.is_empty() || lines.is_empty() {
        lines.push(cur);
    }
    lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| if i == 0 { l } else { format!("  {l}") })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_goes_first_and_a_cut_is_marked() {
        assert_eq!(
            ordered("api v1 · prod 9f2c · dr 77d0 · ≠ different"),
            "≠ different · api v1 · prod 9f2c · dr 77d0"
        );
        assert_eq!(
            ordered("shop.example.test → DR TTL 60"),
            "→ DR TTL 60 · shop.example.test"
        );
        // Counts stay ahead of the labels they count.
        assert_eq!(
            ordered("1/3 synced · missing: worker · differ: api"),
            "1/3 synced · missing: worker · differ: api"
        );
        let row = fit("✗ ", "1/3 synced · missing: worker · differ: api", 36);
        assert_eq!(row, "✗ missing: worker · differ: api …");
        let row = fit("✓ ", "137 KiB behind · replay 2.9s · standby", 30);
        assert!(row.ends_with('…'), "{row}");
        let row = fit("✗ ", "missing: a, b, c, d, e, f, g · differ: api", 30);
        assert!(row.contains("differ: api") && row.contains('+'), "{row}");
        let row = fit(
            "✗ ",
            "497/500 synced · missing: svc-007, svc-123 · differ: svc-400",
            39,
        );
        assert_eq!(row, "✗ missing ×2 · differ: svc-400 …");
        assert_eq!(fit("✓ ", "200 OK · 3 ms", 30), "✓ 200 OK · 3 ms");
        // A reason is cut at the edge, never counted away.
        let row = fit("✗ ", "→ none: no A record (NXDOMAIN) (neither site)", 36);
        assert!(row.starts_with("✗ → none: no A record"), "{row}");
    }

    #[test]
    fn wrap_keeps_every_word() {
        let text = "worker v1.4.2 · prod 1b2c3d4e · dr — · ✗ missing from the DR registry";
        let lines = wrap(text, 20);
        assert!(lines.iter().all(|l| l.width() <= 20), "{lines:?}");
        let back: String = lines.iter().map(|l| l.trim()).collect::<Vec<_>>().join(" ");
        assert_eq!(back, text);
    }

    /// The list phase as it was before widths were counted: every step rebuilt and measured.
    /// Kept as the oracle the counted one must agree with.
    fn fit_measured(prefix: &str, text: &str, w: usize) -> String {
        let segs = segments(text);
        let line = |segs: &[Seg], cut: bool| {
            format!("{prefix}{}{}", join(segs), if cut { " …" } else { "" })
        };
        let mut kept = segs.clone();
        if line(&kept, false).width() <= w {
            return line(&kept, false);
        }
        for rank in [Rank::Fact, Rank::Count] {
            while let Some(i) = kept.iter().rposition(|s| s.rank == rank) {
                if kept.len() == 1 {
                    break;
                }
                if i + 1 == kept.len() {
                    let room = w.saturating_sub(line(&kept[..i], false).width() + SEP.width());
                    if room >= 8 && kept.len() == segs.len() {
                        kept[i].text = trunc(&kept[i].text, room);
                        return line(&kept, false);
                    }
                }
                kept.remove(i);
                if line(&kept, true).width() <= w {
                    return line(&kept, true);
                }
            }
        }
        let mut lists: Vec<Option<(String, Vec<String>, usize)>> = kept
            .iter()
            .map(|s| list_of(&s.text).map(|(h, items)| (h, items.clone(), items.len())))
            .collect();
        loop {
            let l = line(&kept, kept.len() < segs.len());
            if l.width() <= w {
                return l;
            }
            let Some(i) = (0..kept.len())
                .filter(|i| lists[*i].as_ref().is_some_and(|(_, _, n)| *n > 0))
                .max_by_key(|i| {
                    (
                        lists[*i].as_ref().map_or(0, |(_, _, n)| *n),
                        kept[*i].text.width(),
                    )
                })
            else {
                if let Some(i) = (1..kept.len()).rev().find(|i| lists[*i].is_some()) {
                    kept.remove(i);
                    lists.remove(i);
                    if line(&kept, true).width() <= w {
                        return line(&kept, true);
                    }
                    continue;
                }
                return trunc(&l, w);
            };
            if let Some((head, items, shown)) = lists[i].as_mut() {
                *shown -= 1;
                kept[i].text = list_text(head, items, *shown);
            }
        }
    }

    proptest::proptest! {
        /// Counting the widths of a shortened list gives the very line that rebuilding and
        /// measuring it at every step gave (the panels' snapshots depend on it).
        #[test]
        fn counted_lists_fit_as_measured_ones(
            segs in proptest::collection::vec(
                proptest::prop_oneof![
                    "(missing|differ|unread|failing): [a-z]{1,3}(-[0-9]{3})?(, [a-zé]{1,6}(-[0-9]{3})?){0,40}",
                    "[0-9]{1,3}/[0-9]{1,3} (synced|present)",
                    "[0-9]{1,3} services: [0-9]{1,3} ok, [0-9] failing",
                    "(✗|≠|\\?|!|✓|→) [a-z ]{1,12}",
                    "[a-z.]{1,10} → DR TTL [0-9]{1,3}",
                    "[a-zA-Z0-9 ]{1,20}",
                ],
                1..6,
            ),
            prefix in "(|✓ |✗ |~ )",
            w in 1usize..160,
        ) {
            let text = segs.join(SEP);
            let got = fit(&prefix, &text, w);
            proptest::prop_assert_eq!(&got, &fit_measured(&prefix, &text, w));
            proptest::prop_assert!(got.width() <= w.max(1) || w < prefix.width() + 1, "{got:?} at {w}");
        }
    }
}
