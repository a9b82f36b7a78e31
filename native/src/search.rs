//! An embedded-index search in one pass: the top hits, the number of matches and the facet
//! counts from a single evaluation of the query.
//!
//! tantivy's Python binding offers a search (top hits and count) and an aggregation as two
//! calls, and each evaluates the query over every match: for a citizen's question at 100k
//! documents (~50 term postings, ~40k matches) the second pass was a fifth of a search server's
//! CPU (issue 9 profile). Here the three collectors share one pass. The index is opened read-only
//! with the same tantivy version as the binding (the tests compare both paths hit for hit), and
//! queries arrive as a small JSON tree (`engines/tantivy_query.py` builds it).

use std::ops::Bound as Limit;
use std::path::PathBuf;

use pyo3::exceptions::{PyOSError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::PyBytes;
use serde::Deserialize;
use tantivy::aggregation::agg_req::Aggregations;
use tantivy::aggregation::agg_result::AggregationResults;
use tantivy::aggregation::{AggContextParams, AggregationCollector, AggregationLimitsGuard};
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, RangeQuery, TermQuery,
    TermSetQuery,
};
use tantivy::schema::{Field, FieldType, IndexRecordOption, Schema, Value};
use tantivy::{
    DocAddress, Index, IndexReader, Order, ReloadPolicy, Searcher, TantivyDocument, Term,
};

/// A query as `engines/tantivy_query.py` writes it (serde's externally tagged form).
#[derive(Deserialize)]
#[serde(rename_all = "snake_case")]
enum Node {
    All,
    Bool(Vec<(String, Node)>),
    Boost(Box<Node>, f32),
    Term(String, String),
    TermSet(String, Vec<serde_json::Value>),
    Phrase(String, Vec<String>),
    Range(String, Option<i64>, Option<i64>),
}

fn bad(message: impl std::fmt::Display) -> PyErr {
    PyValueError::new_err(message.to_string())
}

fn field(schema: &Schema, name: &str) -> PyResult<Field> {
    schema
        .get_field(name)
        .map_err(|_| bad(format!("unknown field: {name}")))
}

/// The term of ``value`` in ``field``, typed as the schema declares the field.
fn term(schema: &Schema, name: &str, value: &serde_json::Value) -> PyResult<Term> {
    let f = field(schema, name)?;
    let wrong = || bad(format!("value {value} does not fit field {name}"));
    Ok(match schema.get_field_entry(f).field_type() {
        FieldType::Str(_) => Term::from_field_text(f, value.as_str().ok_or_else(wrong)?),
        FieldType::I64(_) => Term::from_field_i64(f, value.as_i64().ok_or_else(wrong)?),
        FieldType::U64(_) => Term::from_field_u64(f, value.as_u64().ok_or_else(wrong)?),
        FieldType::Bool(_) => Term::from_field_bool(f, value.as_bool().ok_or_else(wrong)?),
        _ => return Err(bad(format!("field {name} cannot be searched by term"))),
    })
}

fn build(schema: &Schema, node: &Node) -> PyResult<Box<dyn Query>> {
    Ok(match node {
        Node::All => Box::new(AllQuery),
        Node::Bool(clauses) => {
            let mut built = Vec::with_capacity(clauses.len());
            for (occur, clause) in clauses {
                let occur = match occur.as_str() {
                    "must" => Occur::Must,
                    "should" => Occur::Should,
                    "must_not" => Occur::MustNot,
                    other => return Err(bad(format!("unknown occur: {other}"))),
                };
                built.push((occur, build(schema, clause)?));
            }
            Box::new(BooleanQuery::new(built))
        }
        Node::Boost(inner, boost) => Box::new(BoostQuery::new(build(schema, inner)?, *boost)),
        Node::Term(name, value) => Box::new(TermQuery::new(
            term(schema, name, &serde_json::Value::from(value.as_str()))?,
            IndexRecordOption::WithFreqsAndPositions,
        )),
        Node::TermSet(name, values) => {
            let terms = values
                .iter()
                .map(|v| term(schema, name, v))
                .collect::<PyResult<Vec<_>>>()?;
            Box::new(TermSetQuery::new(terms))
        }
        Node::Phrase(name, words) => {
            let f = field(schema, name)?;
            let mut terms: Vec<Term> = words.iter().map(|w| Term::from_field_text(f, w)).collect();
            if terms.len() < 2 {
                // tantivy's phrase needs two terms or more (it panics otherwise).
                let single = terms.pop().ok_or_else(|| bad("a phrase without words"))?;
                Box::new(TermQuery::new(
                    single,
                    IndexRecordOption::WithFreqsAndPositions,
                ))
            } else {
                Box::new(PhraseQuery::new(terms))
            }
        }
        Node::Range(name, lower, upper) => {
            let f = field(schema, name)?;
            let bound = |value: &Option<i64>| match value {
                Some(v) => Limit::Included(Term::from_field_i64(f, *v)),
                None => Limit::Unbounded,
            };
            Box::new(RangeQuery::new(bound(lower), bound(upper)))
        }
    })
}

/// A read-only view of one index folder; `snapshot` gives the searcher of its latest commit
/// (reloaded on commits, as tantivy's reader does by default, and by `reload`).
#[pyclass(frozen, module = "gongkai_native")]
struct IndexSearcher {
    reader: IndexReader,
    schema: Schema,
}

#[pymethods]
impl IndexSearcher {
    #[new]
    fn new(path: PathBuf) -> PyResult<Self> {
        let index = Index::open_in_dir(&path)
            .map_err(|e| PyOSError::new_err(format!("cannot open {}: {e}", path.display())))?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::OnCommitWithDelay)
            .try_into()
            .map_err(|e| PyOSError::new_err(format!("cannot read {}: {e}", path.display())))?;
        Ok(IndexSearcher {
            reader,
            schema: index.schema(),
        })
    }

    /// Makes the latest commit visible now.
    fn reload(&self) -> PyResult<()> {
        self.reader
            .reload()
            .map_err(|e| PyOSError::new_err(e.to_string()))
    }

    /// One commit's view: every call on it sees the same documents.
    fn snapshot(&self) -> Snapshot {
        Snapshot {
            searcher: self.reader.searcher(),
            schema: self.schema.clone(),
        }
    }
}

/// A hit's sort key: its score, or the value of the field it was ordered by.
#[derive(IntoPyObject)]
enum Key {
    Score(f32),
    Value(Option<i64>),
}

type Hits = Vec<(Key, u32, u32)>;

#[pyclass(frozen, module = "gongkai_native")]
struct Snapshot {
    searcher: Searcher,
    schema: Schema,
}

impl Snapshot {
    fn address(&self, (segment, doc): (u32, u32)) -> PyResult<DocAddress> {
        if segment as usize >= self.searcher.segment_readers().len() {
            return Err(bad(format!("no segment {segment} in this snapshot")));
        }
        Ok(DocAddress::new(segment, doc))
    }

    fn stored(&self, address: (u32, u32)) -> PyResult<TantivyDocument> {
        self.searcher
            .doc::<TantivyDocument>(self.address(address)?)
            .map_err(|e| PyOSError::new_err(e.to_string()))
    }
}

#[pymethods]
impl Snapshot {
    /// The best ``limit`` hits of ``query`` (a JSON tree) as (key, segment, doc), best first
    /// (by score, or by the i64 field ``order_by``, largest first), the number of matches, and
    /// the aggregation results as JSON when ``aggregations`` (tantivy's JSON request) is given.
    #[pyo3(signature = (query, limit, order_by=None, aggregations=None))]
    fn search(
        &self,
        py: Python<'_>,
        query: &str,
        limit: usize,
        order_by: Option<&str>,
        aggregations: Option<&str>,
    ) -> PyResult<(Hits, usize, Option<String>)> {
        let node: Node = serde_json::from_str(query).map_err(|e| bad(format!("query: {e}")))?;
        let query = build(&self.schema, &node)?;
        let aggs: Option<Aggregations> = aggregations
            .map(|text| serde_json::from_str(text).map_err(|e| bad(format!("aggregations: {e}"))))
            .transpose()?;
        py.detach(|| self.run(query.as_ref(), limit.max(1), order_by, aggs))
            .map(|(hits, count, aggs)| {
                let hits = hits.into_iter().take(limit).collect();
                (hits, count, aggs)
            })
    }

    /// Stored bytes of ``field`` for each address (None where the document has none).
    fn stored_bytes<'py>(
        &self,
        py: Python<'py>,
        field: &str,
        addresses: Vec<(u32, u32)>,
    ) -> PyResult<Vec<Option<Bound<'py, PyBytes>>>> {
        let f = self::field(&self.schema, field)?;
        let mut out = Vec::with_capacity(addresses.len());
        for address in addresses {
            let doc = self.stored(address)?;
            out.push(
                doc.get_first(f)
                    .and_then(|v| v.as_bytes())
                    .map(|b| PyBytes::new(py, b)),
            );
        }
        Ok(out)
    }

    /// Stored text of ``field`` for each address (None where the document has none).
    fn stored_text(
        &self,
        field: &str,
        addresses: Vec<(u32, u32)>,
    ) -> PyResult<Vec<Option<String>>> {
        let f = self::field(&self.schema, field)?;
        let mut out = Vec::with_capacity(addresses.len());
        for address in addresses {
            let doc = self.stored(address)?;
            out.push(doc.get_first(f).and_then(|v| v.as_str()).map(str::to_owned));
        }
        Ok(out)
    }

    /// The boolean fast field ``column`` of each address (False where a document has none).
    fn bool_values(&self, column: &str, addresses: Vec<(u32, u32)>) -> PyResult<Vec<bool>> {
        let mut out = Vec::with_capacity(addresses.len());
        for address in addresses {
            let address = self.address(address)?;
            let reader = self.searcher.segment_reader(address.segment_ord);
            let values = reader
                .fast_fields()
                .bool(column)
                .map_err(|e| bad(format!("column {column}: {e}")))?;
            out.push(values.first(address.doc_id).unwrap_or(false));
        }
        Ok(out)
    }

    /// Live documents in this snapshot.
    fn num_docs(&self) -> u64 {
        self.searcher.num_docs()
    }
}

impl Snapshot {
    fn run(
        &self,
        query: &dyn Query,
        limit: usize,
        order_by: Option<&str>,
        aggs: Option<Aggregations>,
    ) -> PyResult<(Hits, usize, Option<String>)> {
        let failed = |e: tantivy::TantivyError| bad(e.to_string());
        let facets = aggs.map(|aggs| {
            AggregationCollector::from_aggs(
                aggs,
                AggContextParams::new(
                    AggregationLimitsGuard::default(),
                    self.searcher.index().tokenizers().clone(),
                ),
            )
        });
        let to_hits = |keyed: Vec<(Key, DocAddress)>| -> Hits {
            keyed
                .into_iter()
                .map(|(k, a)| (k, a.segment_ord, a.doc_id))
                .collect()
        };
        // Each arm is its own collector type; the aggregation is an optional third member.
        macro_rules! collect {
            ($top:expr, $key:expr) => {{
                match facets {
                    Some(facets) => {
                        let (top, count, results) = self
                            .searcher
                            .search(query, &($top, Count, facets))
                            .map_err(failed)?;
                        let keyed = top.into_iter().map(|(k, a)| ($key(k), a)).collect();
                        (to_hits(keyed), count, Some(results))
                    }
                    None => {
                        let (top, count) = self
                            .searcher
                            .search(query, &($top, Count))
                            .map_err(failed)?;
                        let keyed = top.into_iter().map(|(k, a)| ($key(k), a)).collect();
                        (to_hits(keyed), count, None)
                    }
                }
            }};
        }
        let (hits, count, results): (Hits, usize, Option<AggregationResults>) = match order_by {
            None => collect!(TopDocs::with_limit(limit).order_by_score(), Key::Score),
            Some(name) => collect!(
                TopDocs::with_limit(limit).order_by_fast_field::<i64>(name, Order::Desc),
                Key::Value
            ),
        };
        let results = results
            .map(|r| serde_json::to_string(&r).map_err(|e| bad(e.to_string())))
            .transpose()?;
        Ok((hits, count, results))
    }
}

pub fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<IndexSearcher>()?;
    m.add_class::<Snapshot>()
}
