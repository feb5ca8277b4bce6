//! The sops document model: an ordered tree of branches (one per YAML document), as sops
//! holds it. Order matters: the MAC hashes the values in document order, so every store
//! reads and writes entries exactly in the order of the file.

use std::fmt;

use zeroize::Zeroize;

/// A document: one branch per YAML document (other stores have one).
///
/// `Debug` prints the shape with every scalar as `***`; dropping it wipes its strings.
#[derive(Clone, PartialEq, Default)]
pub struct Tree {
    /// The branches, each a mapping's entries in order.
    pub branches: Vec<Vec<(String, Item)>>,
}

/// A value in the tree.
#[derive(Clone, PartialEq)]
pub enum Item {
    /// A mapping, entries in order.
    Map(Vec<(String, Item)>),
    /// A list.
    Seq(Vec<Item>),
    /// A scalar.
    Scalar(Scalar),
    /// `null`: never encrypted and not part of the MAC.
    Null,
}

/// A scalar value and its sops type.
#[derive(Clone, PartialEq)]
pub enum Scalar {
    /// `type:str`.
    Str(String),
    /// Raw bytes (the binary store's `data`, or the legacy `type:bytes`).
    Bytes(Vec<u8>),
    /// `type:int`.
    Int(i64),
    /// `type:float`.
    Float(f64),
    /// `type:bool`.
    Bool(bool),
    /// `type:time`, kept as its RFC 3339 text.
    Time(String),
}

impl Scalar {
    /// The bytes sops encrypts and hashes for this value (research note, section 2).
    pub(crate) fn plaintext(&self) -> Vec<u8> {
        match self {
            Scalar::Str(s) | Scalar::Time(s) => s.as_bytes().to_vec(),
            Scalar::Bytes(b) => b.clone(),
            Scalar::Int(i) => i.to_string().into_bytes(),
            Scalar::Float(f) => format_float(*f).into_bytes(),
            Scalar::Bool(true) => b"True".to_vec(),
            Scalar::Bool(false) => b"False".to_vec(),
        }
    }

    /// The `type:` sops writes for this value.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Scalar::Str(_) => "str",
            Scalar::Bytes(_) => "bytes",
            Scalar::Int(_) => "int",
            Scalar::Float(_) => "float",
            Scalar::Bool(_) => "bool",
            Scalar::Time(_) => "time",
        }
    }

    /// Whether sops leaves this value unencrypted: empty strings are never encrypted.
    pub(crate) fn is_empty_string(&self) -> bool {
        match self {
            Scalar::Str(s) => s.is_empty(),
            Scalar::Bytes(b) => b.is_empty(),
            _ => false,
        }
    }

    /// Restores a decrypted value of sops type `type_name`; `None` when the bytes do not
    /// fit the type.
    pub(crate) fn from_plaintext(type_name: &str, bytes: Vec<u8>, binary: bool) -> Option<Scalar> {
        let text = || String::from_utf8(bytes.clone()).ok();
        Some(match type_name {
            "str" if binary => Scalar::Bytes(bytes),
            "str" => match String::from_utf8(bytes) {
                Ok(s) => Scalar::Str(s),
                Err(e) => Scalar::Bytes(e.into_bytes()),
            },
            "bytes" => Scalar::Bytes(bytes),
            "int" => Scalar::Int(text()?.parse().ok()?),
            "float" => Scalar::Float(parse_go_float(&text()?)?),
            "bool" => Scalar::Bool(match text()?.as_str() {
                "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
                "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
                _ => return None,
            }),
            "time" => Scalar::Time(text()?),
            _ => return None,
        })
    }
}

/// Go's `strconv.FormatFloat(f, 'f', -1, 64)`: the shortest text that reads back as `f`,
/// never with an exponent. Rust's `Display` for `f64` has the same contract for finite
/// values; the special values are spelled as Go spells them.
pub(crate) fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{f}")
    }
}

fn parse_go_float(s: &str) -> Option<f64> {
    match s {
        "NaN" => Some(f64::NAN),
        "+Inf" | "Inf" => Some(f64::INFINITY),
        "-Inf" => Some(f64::NEG_INFINITY),
        _ => s.parse().ok(),
    }
}

fn wipe_entries(entries: &mut [(String, Item)]) {
    for (key, item) in entries {
        key.zeroize();
        wipe(item);
    }
}

fn wipe(item: &mut Item) {
    match item {
        Item::Map(entries) => wipe_entries(entries),
        Item::Seq(items) => items.iter_mut().for_each(wipe),
        Item::Scalar(Scalar::Str(s) | Scalar::Time(s)) => s.zeroize(),
        Item::Scalar(Scalar::Bytes(b)) => b.zeroize(),
        Item::Scalar(_) | Item::Null => {}
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        for branch in &mut self.branches {
            wipe_entries(branch);
        }
    }
}

impl fmt::Debug for Tree {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.branches.iter().map(|b| Shape(b)))
            .finish()
    }
}

impl fmt::Debug for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Map(entries) => Shape(entries).fmt(f),
            Item::Seq(items) => f.debug_list().entries(items).finish(),
            Item::Scalar(s) => s.fmt(f),
            Item::Null => f.write_str("null"),
        }
    }
}

impl fmt::Debug for Scalar {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "***({})", self.type_name())
    }
}

/// Prints a mapping's keys (which are not secret) with redacted values.
struct Shape<'a>(&'a [(String, Item)]);

impl fmt::Debug for Shape<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map()
            .entries(self.0.iter().map(|(k, v)| (k, v)))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_print_as_go_does() {
        assert_eq!(format_float(1234.56789), "1234.56789");
        assert_eq!(format_float(1e21), "1000000000000000000000");
        assert_eq!(format_float(5.0), "5");
        assert_eq!(format_float(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn debug_never_prints_values() {
        let tree = Tree {
            branches: vec![vec![(
                "password".into(),
                Item::Scalar(Scalar::Str("hunter2".into())),
            )]],
        };
        let text = format!("{tree:?}");
        assert!(!text.contains("hunter2"), "{text}");
        assert!(text.contains("password"), "{text}");
    }
}
