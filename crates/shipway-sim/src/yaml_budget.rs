//! A bound on what a YAML request body expands to, checked before the body is parsed.
//!
//! Server-side apply bodies may be YAML, and YAML aliases copy what their anchor holds: a
//! 1 MiB scalar aliased 3,000 times is a 1 MiB body that the shared reader
//! (`shipway_model::yaml::parse_one`) would turn into 3 GiB, since its budget counts
//! alias nodes, not bytes. So the simulator first walks the parser's events without
//! building anything, adding up the bytes each alias would copy, and refuses a body that
//! would expand beyond a small multiple of its own size. The walk holds one number per
//! anchor and per open collection; it never copies a value.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser};

/// How much larger than the body its expansion may be. Aliases that share a few small
/// blocks (resource settings, labels) stay far below it.
const EXPANSION_FACTOR: usize = 4;

/// The expansion every body may reach whatever its size, so that small documents using
/// anchors never meet the bound.
const MINIMUM_BUDGET: usize = 64 * 1024;

/// The bytes a body of `length` bytes may expand to.
pub(crate) fn budget(length: usize) -> usize {
    length.saturating_mul(EXPANSION_FACTOR).max(MINIMUM_BUDGET)
}

/// Checks that `text` expands to at most `budget` bytes of scalars. `Err` carries the
/// budget. A syntax error is not this check's business: the reader reports it with its
/// position, so the walk stops and answers `Ok`.
pub(crate) fn check(text: &str, budget: usize) -> Result<(), usize> {
    // Bytes counted for every node besides its text, so that aliases of empty
    // collections (`[*a, *a, …]` nested) cannot expand for free.
    const NODE: usize = 2;
    let mut anchors: HashMap<usize, usize> = HashMap::new();
    // (anchor, bytes so far) of each open collection.
    let mut open: Vec<(usize, usize)> = Vec::new();
    let mut expanded: usize = 0;
    for event in Parser::new_from_str(text) {
        let Ok((event, _)) = event else {
            return Ok(());
        };
        let (anchor, size) = match event {
            Event::DocumentStart(_) => {
                anchors.clear();
                continue;
            }
            Event::Scalar(value, _, anchor, _) => (anchor, value.len() + NODE),
            Event::Alias(id) => (0, anchors.get(&id).copied().unwrap_or(NODE)),
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                open.push((anchor, NODE));
                expanded = expanded.saturating_add(NODE);
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some((anchor, size)) = open.pop() else {
                    continue;
                };
                // The collection's bytes were counted as its items arrived.
                if anchor != 0 {
                    anchors.insert(anchor, size);
                }
                if let Some((_, parent)) = open.last_mut() {
                    *parent = parent.saturating_add(size);
                }
                continue;
            }
            _ => continue,
        };
        expanded = expanded.saturating_add(size);
        if expanded > budget {
            return Err(budget);
        }
        if anchor != 0 {
            anchors.insert(anchor, size);
        }
        if let Some((_, parent)) = open.last_mut() {
            *parent = parent.saturating_add(size);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_documents_and_modest_aliases_pass() {
        let text = "a: &labels {app: web, tier: front}\nb: *labels\nc: [1, 2, 3]\n";
        assert_eq!(check(text, budget(text.len())), Ok(()));
        assert_eq!(
            check("{unclosed: [", 1000),
            Ok(()),
            "syntax is the reader's"
        );
    }

    #[test]
    fn aliases_count_what_they_copy() {
        let big = "x".repeat(1000);
        let text = format!("a: &a {big}\nb: [*a, *a, *a]\n");
        // 1000 for the anchor, 3000 for the aliases, plus node overheads.
        assert!(check(&text, 4100).is_ok());
        assert_eq!(check(&text, 3900), Err(3900));
        // Nested collections multiply: each level aliases the one below ten times, 10^5
        // scalars from a body of a few hundred bytes.
        let laughs = "a: &a [x, x, x, x, x, x, x, x, x, x]\n\
                      b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n\
                      c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n\
                      d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n\
                      e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]\n\
                      f: [*e, *e, *e, *e, *e, *e, *e, *e, *e, *e]\n";
        assert!(check(laughs, budget(laughs.len())).is_err());
    }
}
