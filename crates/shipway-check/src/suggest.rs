//! "Did you mean" hints: the closest of a set of names to a name that did not resolve, by
//! edit distance, when it is close enough to be a plausible typo.

/// The candidate closest to `name`, when it is within a third of the name's length in
/// edits (at least one edit, at most four), or when one extends the other by a short
/// suffix or prefix (`db` and `db-secret`). Ties go to the first candidate in sorted order,
/// so the hint does not depend on input order.
pub fn closest<'c>(name: &str, candidates: impl IntoIterator<Item = &'c str>) -> Option<&'c str> {
    let limit = (name.chars().count() / 3).clamp(1, 4);
    let mut best: Option<(usize, &str)> = None;
    for candidate in candidates {
        if candidate == name {
            continue;
        }
        let distance = distance(name, candidate);
        let affix = (candidate.starts_with(name)
            || candidate.ends_with(name)
            || name.starts_with(candidate)
            || name.ends_with(candidate))
            && candidate.len().abs_diff(name.len()) <= 8;
        if distance > limit && !affix {
            continue;
        }
        let better = match best {
            None => true,
            Some((d, c)) => distance < d || (distance == d && candidate < c),
        };
        if better {
            best = Some((distance, candidate));
        }
    }
    best.map(|(_, c)| c)
}

/// Optimal string alignment distance (Levenshtein with adjacent transpositions), over
/// characters.
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    // Three rows: two back for transpositions, one back for the rest.
    let mut before: Vec<usize> = vec![0; b.len() + 1];
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    let mut current: Vec<usize> = vec![0; b.len() + 1];
    for i in 1..=a.len() {
        current[0] = i;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut best = (previous[j] + 1)
                .min(current[j - 1] + 1)
                .min(previous[j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                best = best.min(before[j - 2] + 1);
            }
            current[j] = best;
        }
        std::mem::swap(&mut before, &mut previous);
        std::mem::swap(&mut previous, &mut current);
    }
    previous[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_count_edits_and_transpositions() {
        assert_eq!(distance("kitten", "sitting"), 3);
        assert_eq!(distance("db-pasword", "db-password"), 1);
        assert_eq!(distance("ab", "ba"), 1);
        assert_eq!(distance("", "abc"), 3);
    }

    #[test]
    fn close_names_are_suggested_and_far_ones_are_not() {
        let names = ["db-password", "redis", "api-tls"];
        assert_eq!(closest("db-pasword", names), Some("db-password"));
        assert_eq!(closest("api-tsl", names), Some("api-tls"));
        assert_eq!(closest("frontend-config", names), None);
        assert_eq!(closest("redis-auth", names), Some("redis"));
    }
}
