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
    // Lists shortened one item at a time, the one showing most first: the labels stay.
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
                let n = lists[*i].as_ref().map_or(0, |(_, _, n)| *n);
                (n, kept[*i].text.width())
            })
        else {
            // Even `missing ×2` does not fit: drop such lists from the end (the expanded view
            // names them), marked, before cutting at the edge.
            if let Some(i) = (1..kept.len()).rev().find(|i| lists[*i].is_some()) {
                kept.remove(i);
                lists.remove(i);
                let l = line(&kept, true);
                if l.width() <= w {
                    return l;
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

/// How bad a detail line is, for the expanded view's worst-first order: 0 a problem, 1 unknown
/// or a warning, 2 fine. One pass over the lines, no sort.
pub fn severity(line: &str) -> u8 {
    if line.contains('✗')
        || line.contains('≠')
        || line.contains("ERROR")
        || line.contains("FAILED")
        || line.contains("SPLIT BRAIN")
    {
        0
    } else if line.starts_with("? ") || line.starts_with("! ") || line.contains("? error") {
        1
    } else {
        2
    }
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
}
