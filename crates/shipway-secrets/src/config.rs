//! `.sops.yaml` creation rules, read as sops reads them: the file is looked up from the
//! current directory upwards, and the first rule whose unanchored `path_regex` matches the
//! file's path (relative to the config's directory) decides the recipients and the
//! selection rule.

use std::path::{Path, PathBuf};

use regex::Regex;
use shipway_model::Node;
use shipway_model::yaml::parse_one;

use crate::document::EncryptOptions;
use crate::error::{Error, ErrorKind};
use crate::metadata::Rule;

/// The name sops looks for.
pub const CONFIG_FILE: &str = ".sops.yaml";

/// How many parent directories sops searches.
const MAX_DEPTH: usize = 100;

/// Finds `.sops.yaml` in `start` or one of its parents.
pub fn find_config(start: &Path) -> Option<PathBuf> {
    let mut dir = Some(start);
    for _ in 0..MAX_DEPTH {
        let d = dir?;
        let candidate = d.join(CONFIG_FILE);
        if candidate.is_file() {
            return Some(candidate);
        }
        dir = d.parent();
    }
    None
}

fn config_err(config: &Path, message: String) -> Error {
    Error::new(config, ErrorKind::Config(message))
}

/// A comma-separated string or a list of strings, trimmed, empty entries dropped.
fn string_list(node: &Node) -> Vec<String> {
    let items: Vec<String> = match node.as_seq() {
        Some(seq) => seq
            .iter()
            .filter_map(Node::as_str)
            .map(str::to_string)
            .collect(),
        None => node
            .as_str()
            .map(|s| s.split(',').map(str::to_string).collect())
            .unwrap_or_default(),
    };
    items
        .into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The key types sops accepts in a creation rule that shipway cannot encrypt to.
const UNSUPPORTED: [(&str, &str); 7] = [
    ("pgp", "PGP"),
    ("kms", "AWS KMS"),
    ("gcp_kms", "GCP KMS"),
    ("azure_keyvault", "Azure Key Vault"),
    ("hc_vault_transit_uri", "HashiCorp Vault"),
    ("hc_vault", "HashiCorp Vault"),
    ("hckms", "Huawei Cloud KMS"),
];

/// The encryption options of the first creation rule of `config` matching `file`.
pub fn rule_for(config: &Path, text: &str, file: &Path) -> Result<EncryptOptions, Error> {
    let root = parse_one(text).map_err(|e| config_err(config, format!("YAML syntax: {e}")))?;
    let rules = root
        .get("creation_rules")
        .and_then(Node::as_seq)
        .ok_or_else(|| config_err(config, "no `creation_rules` list".into()))?;
    let base = config.parent().unwrap_or(Path::new(""));
    let relative = file
        .strip_prefix(base)
        .unwrap_or(file)
        .to_string_lossy()
        .into_owned();
    for (i, rule) in rules.iter().enumerate() {
        let pattern = rule.get("path_regex").and_then(Node::as_str).unwrap_or("");
        let regex = Regex::new(pattern).map_err(|e| {
            config_err(
                config,
                format!(
                    "line {}: creation rule {}: `path_regex`: {e}",
                    rule.pos.line,
                    i + 1
                ),
            )
        })?;
        if !regex.is_match(&relative) {
            continue;
        }
        let line = rule.pos.line;
        let mut options = EncryptOptions::default();
        let groups: Vec<&Node> = rule
            .get("key_groups")
            .and_then(Node::as_seq)
            .map(|g| g.iter().collect())
            .unwrap_or_default();
        let holders: Vec<&Node> = if groups.is_empty() {
            vec![rule]
        } else {
            groups
        };
        for holder in holders {
            for (field, name) in UNSUPPORTED {
                if holder.get(field).is_some_and(|n| {
                    !string_list(n).is_empty() || n.as_seq().is_some_and(|s| !s.is_empty())
                }) {
                    return Err(config_err(
                        config,
                        format!(
                            "line {line}: creation rule {} uses {name} keys (`{field}`), which shipway does not support (only `age`)",
                            i + 1
                        ),
                    ));
                }
            }
            let mut group = holder.get("age").map(string_list).unwrap_or_default();
            group.dedup();
            options.key_groups.push(group);
        }
        let mut chosen = None;
        for field in Rule::FIELDS {
            if let Some(value) = rule.get(field).and_then(Node::as_str) {
                if chosen.is_some() {
                    return Err(config_err(
                        config,
                        format!(
                            "line {line}: creation rule {}: more than one of the `*_suffix` and `*_regex` selection rules is set",
                            i + 1
                        ),
                    ));
                }
                chosen = Rule::from_field(field, value.to_string());
            }
        }
        options.rule = chosen;
        options.mac_only_encrypted = rule
            .get("mac_only_encrypted")
            .is_some_and(|n| matches!(n.value, shipway_model::Value::Bool(true)));
        return Ok(options);
    }
    Err(config_err(
        config,
        format!("no creation rule matches `{relative}`"),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = "creation_rules:
  - path_regex: prod/.*\\.yaml$
    encrypted_regex: ^(data|stringData)$
    age: age1aaa, age1bbb
  - path_regex: \\.env$
    key_groups:
      - age: [age1ccc]
    mac_only_encrypted: true
  - age: age1fallback
";

    #[test]
    fn first_matching_rule_wins() {
        let config = Path::new("/repo/.sops.yaml");
        let prod = rule_for(config, CONFIG, Path::new("/repo/prod/db.yaml")).unwrap();
        assert_eq!(
            prod.key_groups,
            vec![vec!["age1aaa".to_string(), "age1bbb".to_string()]]
        );
        assert_eq!(
            prod.rule,
            Some(Rule::EncryptedRegex("^(data|stringData)$".into()))
        );
        let env = rule_for(config, CONFIG, Path::new("/repo/prod/app.env")).unwrap();
        assert_eq!(env.key_groups, vec![vec!["age1ccc".to_string()]]);
        assert!(env.mac_only_encrypted);
        let other = rule_for(config, CONFIG, Path::new("/repo/dev/x.yaml")).unwrap();
        assert_eq!(other.key_groups, vec![vec!["age1fallback".to_string()]]);
        assert_eq!(other.rule, None);
    }

    #[test]
    fn no_match_and_unsupported_keys_are_errors() {
        let config = Path::new("/repo/.sops.yaml");
        let err = rule_for(
            config,
            "creation_rules:\n  - path_regex: x$\n    age: age1a\n",
            Path::new("/repo/y"),
        )
        .unwrap_err();
        assert_eq!(
            err.to_string(),
            "`/repo/.sops.yaml`: no creation rule matches `y`"
        );
        let err = rule_for(
            config,
            "creation_rules:\n  - pgp: ABCDEF\n",
            Path::new("/repo/y"),
        )
        .unwrap_err();
        assert!(err.to_string().contains("PGP keys"), "{err}");
    }
}
