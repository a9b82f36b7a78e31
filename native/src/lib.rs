//! Gongkai's per-document analysis in one call: what `DocumentAnalyzer.analyze_text` computes
//! in Python (`analysis/analyzer.py`, `tokenizer.py`, `bigrams.py`), byte for byte.
//!
//! Every Unicode rule comes from the running Python, passed in at construction: the fold
//! table of `normalise` and which code points `str.isalnum()` accepts. Rust's own tables
//! (`char::is_alphanumeric`, `to_lowercase`) differ from Python's in places and would change
//! tokens. Segmentation is jieba-rs at the version rjieba uses, search mode, HMM off.
//!
//! `Highlighter` (`highlight.rs`) marks query terms in a snippet as `analysis/highlight.py`
//! does, and `search.rs` searches the embedded index in one pass.
//!
//! `MinHasher` computes a document's near-duplicate signature as `analysis.dedup` does with
//! numpy and datasketch, bit for bit.

mod highlight;
mod search;

use jieba_rs::Jieba;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyString};
use rustc_hash::{FxHashMap, FxHashSet};

/// Code points from here on fold to themselves (`analysis.tokenizer._FOLD_LIMIT`).
const FOLD_LIMIT: usize = 0x20000;
/// One past the largest code point: the size of the word-character bitmap.
const CODE_POINTS: usize = 0x110000;
/// Shortest dictionary word looked for inside a longer token (`tokenizer.MIN_INNER_WORD`).
const MIN_INNER_WORD: usize = 4;

/// `tokenizer.fold_codes()` (little-endian u32, 0x20000 of them) as characters.
pub(crate) fn fold_table(fold: &[u8]) -> PyResult<Vec<char>> {
    if fold.len() != FOLD_LIMIT * 4 {
        return Err(PyValueError::new_err(
            "fold table: expected 0x20000 u32 codes",
        ));
    }
    fold.chunks_exact(4)
        .enumerate()
        .map(|(code, b)| {
            let folded = u32::from_le_bytes([b[0], b[1], b[2], b[3]]);
            match char::from_u32(folded) {
                Some(c) => Some(c),
                // Surrogate code points map to themselves in the table; no `char` is one,
                // so their entries are never read.
                None if (0xD800..0xE000).contains(&code) => Some(char::REPLACEMENT_CHARACTER),
                None => None,
            }
        })
        .collect::<Option<Vec<char>>>()
        .ok_or_else(|| PyValueError::new_err("fold table maps to a non-character"))
}

#[pyclass(frozen, module = "gongkai_native")]
struct Analyzer {
    jieba: Jieba,
    /// Folded character of each code point below `FOLD_LIMIT`.
    fold: Vec<char>,
    /// Bit `c` set when `chr(c).isalnum()` in Python (little-endian bit order in each byte).
    word_chars: Vec<u8>,
    stop_words: FxHashSet<String>,
}

impl Analyzer {
    fn is_word_char(&self, c: char) -> bool {
        let code = c as usize;
        self.word_chars[code >> 3] & (1 << (code & 7)) != 0
    }

    /// `tokenizer.normalise`: one character for one character.
    fn normalise(&self, text: &str) -> String {
        text.chars()
            .map(|c| self.fold.get(c as usize).copied().unwrap_or(c))
            .collect()
    }

    /// Calls `emit` with each token of `tokenize_normalised(text)`, in order.
    fn each_token<'a>(&self, text: &'a str, mut emit: impl FnMut(&'a str)) {
        for token in self.jieba.cut_for_search(text, false) {
            let word = token.word;
            // `is_word`: at least one letter, digit or Han character.
            if !word.chars().any(|c| self.is_word_char(c)) || self.stop_words.contains(word) {
                continue;
            }
            // Python's `len` counts code points; a word of <= 4 bytes has <= 4 of them.
            if word.len() > MIN_INNER_WORD {
                self.each_inner_word(word, &mut emit);
            }
            emit(word);
        }
    }

    /// `GovTokenizer._inner_words`: dictionary words of 4+ characters inside `word`, shortest
    /// first, then left to right (slices by code point, as Python's).
    fn each_inner_word<'a>(&self, word: &'a str, emit: &mut impl FnMut(&'a str)) {
        let bounds: Vec<usize> = word
            .char_indices()
            .map(|(i, _)| i)
            .chain([word.len()])
            .collect();
        let chars = bounds.len() - 1;
        for size in MIN_INNER_WORD..chars {
            for start in 0..=chars - size {
                let inner = &word[bounds[start]..bounds[start + size]];
                if self.jieba.has_word(inner) {
                    emit(inner);
                }
            }
        }
    }

    /// `GovTokenizer.token_text`: the tokens joined by single spaces.
    fn token_text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() * 2);
        self.each_token(text, |token| {
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(token);
        });
        out
    }

    /// `bigrams.bigram_text`: overlapping pairs of each run of word characters (`_` is not
    /// one), a run of one character giving that character; joined by single spaces.
    fn bigram_text(&self, text: &str) -> String {
        let mut out = String::with_capacity(text.len() * 2);
        let mut chars = text.chars().peekable();
        let mut previous_is_word = false;
        while let Some(c) = chars.next() {
            let is_word = self.is_word_char(c);
            if is_word {
                let next = chars.peek().copied().filter(|&n| self.is_word_char(n));
                if next.is_some() || !previous_is_word {
                    if !out.is_empty() {
                        out.push(' ');
                    }
                    out.push(c);
                    out.extend(next);
                }
            }
            previous_is_word = is_word;
        }
        out
    }
}

#[pymethods]
impl Analyzer {
    /// `fold`: `fold_codes()` as little-endian u32 (0x20000 of them); `word_chars`: the
    /// isalnum bitmap (0x110000 bits); `terms` already normalised, added in order with
    /// `frequency` as `GovTokenizer` adds them to rjieba.
    #[new]
    fn new(
        fold: &[u8],
        word_chars: &[u8],
        terms: Vec<String>,
        stop_words: Vec<String>,
        frequency: usize,
    ) -> PyResult<Self> {
        let fold = fold_table(fold)?;
        if word_chars.len() != CODE_POINTS / 8 {
            return Err(PyValueError::new_err(
                "word_chars: expected a bitmap of 0x110000 bits",
            ));
        }
        let mut jieba = Jieba::new();
        for term in &terms {
            jieba.add_word(term, Some(frequency), None);
        }
        Ok(Self {
            jieba,
            fold,
            word_chars: word_chars.to_vec(),
            stop_words: stop_words.into_iter().collect(),
        })
    }

    /// `(title tokens, body tokens, title bigrams, body bigrams)` of raw (unnormalised)
    /// texts, exactly as `DocumentAnalyzer.analyze_text`. A text with a lone surrogate
    /// cannot become `&str`: the call raises `UnicodeEncodeError` before any work.
    fn analyze_text(
        &self,
        py: Python<'_>,
        title: &str,
        body: &str,
        title_derived: bool,
    ) -> (String, String, String, String) {
        // No Python object is touched inside: other threads may run meanwhile.
        py.detach(|| {
            let body = self.normalise(body);
            let (title_tokens, title_grams) = if title_derived {
                (String::new(), String::new())
            } else {
                let title = self.normalise(title);
                (self.token_text(&title), self.bigram_text(&title))
            };
            (
                title_tokens,
                self.token_text(&body),
                title_grams,
                self.bigram_text(&body),
            )
        })
    }

    /// `GovTokenizer.token_text` of text already normalised.
    #[pyo3(name = "token_text")]
    fn py_token_text(&self, py: Python<'_>, text: &str) -> String {
        py.detach(|| self.token_text(text))
    }

    /// `GovTokenizer.tokenize_normalised`: the tokens as a list.
    fn tokens<'a>(&self, py: Python<'_>, text: &'a str) -> Vec<&'a str> {
        py.detach(|| {
            let mut tokens = Vec::new();
            self.each_token(text, |token| tokens.push(token));
            tokens
        })
    }

    /// `tokenizer.normalise`.
    #[pyo3(name = "normalise")]
    fn py_normalise(&self, text: &str) -> String {
        self.normalise(text)
    }

    /// `bigrams.bigram_text` of text already normalised.
    #[pyo3(name = "bigram_text")]
    fn py_bigram_text(&self, text: &str) -> String {
        self.bigram_text(text)
    }
}

/// MinHash signatures exactly as `analysis.dedup.MinHashSigner` computes them in Python:
/// polynomial hashes of the `shingle`-character shingles of a text (u64, wrapping, folded to
/// 32 bits), MurmurHash3's 32-bit finalizer, then datasketch's affine32 permutations
/// `a * h + b` (u32, wrapping), the minimum of each. In Python that is ~1 ms a document, most
/// of it an n x num_perm array; here no array is built (issue 9 profile).
#[pyclass(frozen, module = "gongkai_native")]
struct MinHasher {
    a: Vec<u32>,
    b: Vec<u32>,
    shingle: usize,
    base: u64,
}

/// MurmurHash3's fmix32, as datasketch's `_fmix(hv, 32)`.
fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85EB_CA6B);
    h ^= h >> 13;
    h = h.wrapping_mul(0xC2B2_AE35);
    h ^ (h >> 16)
}

impl MinHasher {
    fn signature(&self, text: &str) -> Vec<u32> {
        let mut signature = vec![u32::MAX; self.a.len()];
        let codes: Vec<u64> = text.chars().map(|c| c as u64).collect();
        if codes.is_empty() {
            return signature; // no shingle: the empty signature, as datasketch leaves it
        }
        // A text shorter than a shingle is one shingle (`dedup.shingle_hashes`).
        for window in codes.windows(self.shingle.min(codes.len())) {
            let hash = window
                .iter()
                .fold(0u64, |h, &c| h.wrapping_mul(self.base).wrapping_add(c));
            let mixed = fmix32((hash ^ (hash >> 32)) as u32);
            for ((low, &a), &b) in signature.iter_mut().zip(&self.a).zip(&self.b) {
                *low = (*low).min(a.wrapping_mul(mixed).wrapping_add(b));
            }
        }
        signature
    }
}

#[pymethods]
impl MinHasher {
    /// `a`, `b`: datasketch's affine32 permutations (`MinHash.permutations`); `base`: the
    /// multiplier of the shingle hash (`dedup._BASE`).
    #[new]
    fn new(a: Vec<u32>, b: Vec<u32>, shingle: usize, base: u64) -> PyResult<Self> {
        if a.len() != b.len() || a.is_empty() || shingle == 0 {
            return Err(PyValueError::new_err(
                "permutations of equal, non-zero length and a shingle of 1+ characters",
            ));
        }
        Ok(Self {
            a,
            b,
            shingle,
            base,
        })
    }

    /// The signature of `text` (already the fingerprint text), `num_perm` little-endian u32.
    /// A text with a lone surrogate cannot become `&str`: the call raises
    /// `UnicodeEncodeError` before any work.
    fn sign<'py>(&self, py: Python<'py>, text: &str) -> Bound<'py, PyBytes> {
        let signature = py.detach(|| self.signature(text));
        let bytes: Vec<u8> = signature.iter().flat_map(|v| v.to_le_bytes()).collect();
        PyBytes::new(py, &bytes)
    }
}

/// How often each token of an analysed text occurs (`Analyzer.token_text`: tokens separated
/// by single spaces): Python's `Counter(text.split(" "))` for a non-empty text.
///
/// Splitting into a Python list made a string per token, most of the keyword stage's time at
/// ingest (issue 9); here each distinct token's string is made once and kept (with its hash,
/// which Python caches in it) for later texts, up to `limit` of them, then started afresh.
#[pyclass(module = "gongkai_native")]
struct TokenCounter {
    strings: FxHashMap<String, Py<PyString>>,
    limit: usize,
}

#[pymethods]
impl TokenCounter {
    #[new]
    fn new(limit: usize) -> Self {
        Self {
            strings: FxHashMap::default(),
            limit,
        }
    }

    /// A text with a lone surrogate cannot become `&str`: the call raises
    /// `UnicodeEncodeError` before any work.
    fn count<'py>(&mut self, py: Python<'py>, text: &str) -> PyResult<Bound<'py, PyDict>> {
        let mut counts: FxHashMap<&str, usize> = FxHashMap::default();
        // Every piece, empty ones too, as `str.split(" ")` gives them.
        for token in text.split(' ') {
            *counts.entry(token).or_insert(0) += 1;
        }
        if self.strings.len() + counts.len() > self.limit {
            self.strings.clear(); // bounded memory on endless new tokens
        }
        let dict = PyDict::new(py);
        for (token, count) in counts {
            let string = match self.strings.get(token) {
                Some(known) => known.bind(py).clone(),
                None => {
                    let made = PyString::new(py, token);
                    self.strings.insert(token.to_owned(), made.clone().unbind());
                    made
                }
            };
            dict.set_item(string, count)?;
        }
        Ok(dict)
    }

    fn __len__(&self) -> usize {
        self.strings.len()
    }
}

#[pymodule]
fn gongkai_native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<TokenCounter>()?;
    m.add_class::<Analyzer>()?;
    m.add_class::<MinHasher>()?;
    m.add_class::<highlight::Highlighter>()?;
    search::register(m)
}
