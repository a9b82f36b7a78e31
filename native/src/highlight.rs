//! Snippets with `<mark>` highlights, exactly as `analysis/highlight.py` makes them.
//!
//! A search page highlights every hit's title and body: ~16% of a search server's CPU went to
//! the Python path (issue 9 profile, after the one-pass search). Positions are code points,
//! as in Python; whitespace is what Python's `str.split()` splits on and folding is
//! `tokenizer.normalise`, both passed in from the running Python at construction.

use memchr::memmem;
use pyo3::prelude::*;
use rustc_hash::FxHashSet;

#[pyclass(frozen, module = "gongkai_native")]
pub struct Highlighter {
    /// Folded character of each code point below the table's end (`tokenizer.normalise`).
    fold: Vec<char>,
    /// `is_space[c]` for code points up to the largest one for which Python's
    /// `str.isspace()` is true (none is above U+3000 today).
    is_space: Vec<bool>,
}

const MARK_OPEN: &str = "<mark>";
const MARK_CLOSE: &str = "</mark>";

/// `html.escape(text)` of one character, appended to `out`.
fn push_escaped(out: &mut String, c: char) {
    match c {
        '&' => out.push_str("&amp;"),
        '<' => out.push_str("&lt;"),
        '>' => out.push_str("&gt;"),
        '"' => out.push_str("&quot;"),
        '\'' => out.push_str("&#x27;"),
        _ => out.push(c),
    }
}

fn push_escaped_all(out: &mut String, chars: &[char]) {
    for &c in chars {
        push_escaped(out, c);
    }
}

/// `highlight._merge_adjacent`: touching spans become one.
fn merge_adjacent(spans: Vec<(usize, usize)>) -> Vec<(usize, usize)> {
    let mut merged: Vec<(usize, usize)> = Vec::with_capacity(spans.len());
    for (start, end) in spans {
        match merged.last_mut() {
            Some(last) if last.1 == start => last.1 = end,
            _ => merged.push((start, end)),
        }
    }
    merged
}

/// `highlight._best_window`: the window of `width` characters holding the most matches.
fn best_window(spans: &[(usize, usize)], text_len: usize, width: usize) -> (usize, usize) {
    if spans.is_empty() || text_len <= width {
        return (0, text_len.min(width));
    }
    let (mut best_start, mut best_count) = (0usize, None::<usize>);
    let mut right = 0;
    for (left, &(span_start, _)) in spans.iter().enumerate() {
        right = right.max(left);
        while right < spans.len() && spans[right].1 <= span_start + width {
            right += 1;
        }
        if best_count.is_none_or(|best| right - left > best) {
            best_start = span_start;
            best_count = Some(right - left);
        }
    }
    // Python: max(0, min(best_start - width // 5, text_len - width)), in signed arithmetic.
    let start = (best_start as i64 - (width / 5) as i64)
        .min((text_len - width) as i64)
        .max(0);
    let start = start as usize;
    (start, start + width)
}

impl Highlighter {
    /// `highlight._match_spans`: non-overlapping spans of the terms in `norm` (code points),
    /// longer terms first, equal lengths in code point order.
    fn match_spans(&self, norm: &str, length: usize, terms: &[String]) -> Vec<(usize, usize)> {
        let mut unique: Vec<(usize, &str)> = terms
            .iter()
            .filter(|t| !t.is_empty())
            .map(|t| (t.chars().count(), t.as_str()))
            .collect::<FxHashSet<_>>()
            .into_iter()
            .collect();
        unique.sort_by(|a, b| b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1)));
        let bytes = norm.as_bytes();
        let mut taken = vec![false; length];
        let mut spans = Vec::new();
        for (size, term) in unique {
            // Occurrences that do not overlap each other, left to right, as `str.find` from
            // the end of the last one finds them; their code point index is counted on.
            let (mut seen_byte, mut seen_char) = (0usize, 0usize);
            for byte_start in memmem::find_iter(bytes, term.as_bytes()) {
                seen_char += bytes[seen_byte..byte_start]
                    .iter()
                    .filter(|&&b| (b as i8) >= -0x40)
                    .count();
                seen_byte = byte_start;
                let (start, end) = (seen_char, seen_char + size);
                if !taken[start..end].iter().any(|&t| t) {
                    spans.push((start, end));
                    taken[start..end].iter_mut().for_each(|t| *t = true);
                }
            }
        }
        spans.sort_unstable();
        merge_adjacent(spans)
    }

    fn folded(&self, c: char) -> char {
        self.fold.get(c as usize).copied().unwrap_or(c)
    }

    fn is_space(&self, c: char) -> bool {
        self.is_space.get(c as usize).copied().unwrap_or(false)
    }

    fn snippet(&self, text: &str, terms: &[String], width: usize) -> String {
        // " ".join(text.split()): runs of whitespace become one space, none at either end;
        // and its normalised form beside it (one pass, one character for one character).
        let mut chars: Vec<char> = Vec::with_capacity(text.len());
        let mut norm = String::with_capacity(text.len());
        let mut space_pending = false;
        for c in text.chars() {
            if self.is_space(c) {
                space_pending = !chars.is_empty();
                continue;
            }
            if space_pending {
                chars.push(' ');
                norm.push(self.folded(' '));
                space_pending = false;
            }
            chars.push(c);
            norm.push(self.folded(c));
        }
        let spans = self.match_spans(&norm, chars.len(), terms);
        let (start, end) = best_window(&spans, chars.len(), width);
        let mut out = String::with_capacity((end - start) * 3 + 64);
        if start > 0 {
            out.push('…');
        }
        let mut pos = start;
        for &(span_start, span_end) in &spans {
            if span_end <= start || span_start >= end {
                continue;
            }
            let (span_start, span_end) = (span_start.max(start), span_end.min(end));
            push_escaped_all(&mut out, &chars[pos..span_start]);
            out.push_str(MARK_OPEN);
            push_escaped_all(&mut out, &chars[span_start..span_end]);
            out.push_str(MARK_CLOSE);
            pos = span_end;
        }
        push_escaped_all(&mut out, &chars[pos..end]);
        if end < chars.len() {
            out.push('…');
        }
        out
    }
}

#[pymethods]
impl Highlighter {
    /// `fold`: `fold_codes()` as little-endian u32; `spaces`: every character for which
    /// `str.isspace()` is true.
    #[new]
    fn new(fold: &[u8], spaces: &str) -> PyResult<Self> {
        let mut is_space = vec![false; spaces.chars().map(|c| c as usize + 1).max().unwrap_or(0)];
        for c in spaces.chars() {
            is_space[c as usize] = true;
        }
        Ok(Self {
            fold: crate::fold_table(fold)?,
            is_space,
        })
    }

    /// `highlight.highlight(text, terms, width)`. A text or term with a lone surrogate
    /// cannot become `&str`: the call raises `UnicodeEncodeError` before any work.
    fn highlight(&self, py: Python<'_>, text: &str, terms: Vec<String>, width: usize) -> String {
        py.detach(|| self.snippet(text, &terms, width))
    }
}
