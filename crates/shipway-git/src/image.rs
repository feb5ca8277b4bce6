//! Image references as `release --image` takes them (`NAME=IMAGE[:TAG][@DIGEST]`, or
//! `NAME[:TAG][@DIGEST]` to keep the entry's `newName`), the state of one `images:` entry
//! (`newName`/`newTag`/`digest`), and the change to make to it. Pure: no I/O.

use std::fmt;

/// A `--image` argument that is not a valid image reference.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid image reference `{reference}`: {reason}")]
pub struct ImageRefError {
    /// The argument as given.
    pub reference: String,
    /// What is wrong with it.
    pub reason: String,
}

/// What to do with one field of an `images:` entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub enum Field {
    /// Leave the field as it is (absent stays absent).
    #[default]
    Keep,
    /// Set the field to this value, adding it when absent.
    Set(String),
    /// Remove the field when present.
    Remove,
}

/// A change to the `images:` entry named `name`, added when there is none (and adding is
/// allowed).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageChange {
    /// The entry's `name`: the image name used in the manifests.
    pub name: String,
    /// The `newName` field.
    pub new_name: Field,
    /// The `newTag` field.
    pub new_tag: Field,
    /// The `digest` field.
    pub digest: Field,
}

impl ImageChange {
    /// The change that makes the entry exactly `state` (fields absent in `state` removed).
    pub fn restore(name: &str, state: &ImageState) -> ImageChange {
        let field = |v: &Option<String>| v.clone().map_or(Field::Remove, Field::Set);
        ImageChange {
            name: name.to_owned(),
            new_name: field(&state.new_name),
            new_tag: field(&state.new_tag),
            digest: field(&state.digest),
        }
    }
}

/// The fields of one `images:` entry that decide which image runs.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ImageState {
    /// `newName`, when set.
    pub new_name: Option<String>,
    /// `newTag`, when set.
    pub new_tag: Option<String>,
    /// `digest`, when set.
    pub digest: Option<String>,
}

impl ImageState {
    /// The reference the entry makes the image `name` into, e.g. `ghcr.io/acme/api:1.2`:
    /// what history and commit trailers show.
    pub fn reference(&self, name: &str) -> String {
        let mut out = self.new_name.clone().unwrap_or_else(|| name.to_owned());
        if let Some(tag) = &self.new_tag {
            out.push(':');
            out.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            out.push('@');
            out.push_str(digest);
        }
        out
    }
}

/// A parsed `--image` argument.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The `images:` entry name (`NAME`).
    pub name: String,
    /// The replacement image (`IMAGE`), when given with `NAME=`.
    pub new_name: Option<String>,
    /// The tag, when given.
    pub tag: Option<String>,
    /// The digest (`algorithm:hex`), when given.
    pub digest: Option<String>,
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.name)?;
        if let Some(n) = &self.new_name {
            write!(f, "={n}")?;
        }
        if let Some(t) = &self.tag {
            write!(f, ":{t}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

impl ImageRef {
    /// Parses `NAME=IMAGE[:TAG][@DIGEST]` or `NAME[:TAG][@DIGEST]`.
    ///
    /// A colon is a tag separator only after the last `/`, so registry ports
    /// (`localhost:5000/api:1.0`) are part of the name.
    pub fn parse(reference: &str) -> Result<ImageRef, ImageRefError> {
        let err = |reason: &str| ImageRefError {
            reference: reference.to_owned(),
            reason: reason.to_owned(),
        };
        if reference.is_empty() {
            return Err(err("it is empty"));
        }
        if let Some(c) = reference
            .chars()
            .find(|c| c.is_whitespace() || c.is_control())
        {
            return Err(err(&format!("it contains {c:?}")));
        }
        // Without `=`, the name itself may carry the tag and digest (`api:1.2`).
        let (name, image) = match reference.split_once('=') {
            Some((_, rest)) if rest.contains('=') => {
                return Err(err("it has more than one `=`"));
            }
            Some((name, rest)) => (Some(name.to_owned()), rest),
            None => (None, reference),
        };
        let (image, digest) = match image.split_once('@') {
            Some((image, digest)) => (image, Some(digest)),
            None => (image, None),
        };
        if let Some(digest) = digest {
            check_digest(digest).map_err(|r| err(&r))?;
        }
        let slash = image.rfind('/').map_or(0, |i| i + 1);
        let (image, tag) = match image[slash..].rfind(':') {
            Some(i) => (&image[..slash + i], Some(&image[slash + i + 1..])),
            None => (image, None),
        };
        if let Some(tag) = tag {
            check_tag(tag).map_err(|r| err(&r))?;
        }
        check_name(image).map_err(|r| err(&r))?;
        let (name, new_name) = match name {
            None => (image.to_owned(), None),
            Some(name) => {
                check_name(&name).map_err(|r| err(&format!("the entry name {r}")))?;
                (name, Some(image.to_owned()))
            }
        };
        Ok(ImageRef {
            name,
            new_name,
            tag: tag.map(str::to_owned),
            digest: digest.map(str::to_owned),
        })
    }

    /// The change `kustomize edit set image` makes: `newName` is set when `IMAGE` was given;
    /// a new tag drops an old digest and a new digest drops an old tag, because a stale
    /// digest would silently win over the new tag.
    pub fn to_change(&self) -> ImageChange {
        let (new_tag, digest) = match (&self.tag, &self.digest) {
            (Some(t), Some(d)) => (Field::Set(t.clone()), Field::Set(d.clone())),
            (Some(t), None) => (Field::Set(t.clone()), Field::Remove),
            (None, Some(d)) => (Field::Remove, Field::Set(d.clone())),
            (None, None) => (Field::Keep, Field::Keep),
        };
        ImageChange {
            name: self.name.clone(),
            new_name: self.new_name.clone().map_or(Field::Keep, Field::Set),
            new_tag,
            digest,
        }
    }
}

fn check_name(name: &str) -> Result<(), String> {
    if name.is_empty() {
        return Err("is missing".into());
    }
    if name.starts_with('/') || name.ends_with('/') || name.contains("//") {
        return Err(format!("`{name}` has an empty path component"));
    }
    let (host, path) = match name.split_once('/') {
        Some((host, path)) if host.contains(['.', ':']) || host == "localhost" => {
            (Some(host), path)
        }
        _ => (None, name),
    };
    if let Some((_, port)) = host.and_then(|h| h.split_once(':'))
        && (port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()))
    {
        return Err(format!("registry port `{port}` is not a number"));
    }
    for component in path.split('/') {
        let ok = component.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
        }) && component
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric());
        if !ok {
            return Err(format!(
                "`{component}` is not a valid name component (lowercase letters, digits, `.`, `_`, `-`)"
            ));
        }
    }
    Ok(())
}

fn check_tag(tag: &str) -> Result<(), String> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && tag
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_alphanumeric() || b == b'_')
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "tag `{tag}` must be 1 to 128 letters, digits, `.`, `_` or `-`, not starting with `.` or `-`"
        ))
    }
}

fn check_digest(digest: &str) -> Result<(), String> {
    let Some((algorithm, hex)) = digest.split_once(':') else {
        return Err(format!("digest `{digest}` is not `algorithm:hex`"));
    };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm.bytes().all(|b| {
            b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'+' | b'.' | b'_' | b'-')
        });
    let hex_ok = hex.len() >= 32 && hex.bytes().all(|b| b.is_ascii_hexdigit());
    if !algorithm_ok || !hex_ok {
        return Err(format!(
            "digest `{digest}` is not `algorithm:hex` with at least 32 hex digits"
        ));
    }
    if algorithm == "sha256" && hex.len() != 64 {
        return Err(format!("sha256 digest `{digest}` must have 64 hex digits"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SHA: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_the_accepted_forms() {
        let r = ImageRef::parse("api=ghcr.io/acme/api:1.2").unwrap();
        assert_eq!(r.name, "api");
        assert_eq!(r.new_name.as_deref(), Some("ghcr.io/acme/api"));
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        let r = ImageRef::parse("localhost:5000/api:1.0").unwrap();
        assert_eq!(r.name, "localhost:5000/api");
        assert_eq!(r.new_name, None);
        assert_eq!(r.tag.as_deref(), Some("1.0"));
        let r = ImageRef::parse("localhost:5000/api").unwrap();
        assert_eq!((r.name.as_str(), r.tag), ("localhost:5000/api", None));
        let r = ImageRef::parse(&format!("api=registry:5000/team/api:v2@{SHA}")).unwrap();
        assert_eq!(r.new_name.as_deref(), Some("registry:5000/team/api"));
        assert_eq!(r.tag.as_deref(), Some("v2"));
        assert_eq!(r.digest.as_deref(), Some(SHA));
        let r = ImageRef::parse(&format!("nginx@{SHA}")).unwrap();
        assert_eq!((r.name.as_str(), r.tag.as_deref()), ("nginx", None));
        assert_eq!(r.to_string(), format!("nginx@{SHA}"));
    }

    #[test]
    fn malformed_references_say_what_is_wrong() {
        let cases = [
            ("", "it is empty"),
            ("api=", "is missing"),
            ("=nginx:1", "the entry name is missing"),
            ("api=nginx:", "tag ``"),
            ("api=nginx:1 2", "contains ' '"),
            ("api=a=b", "more than one `=`"),
            ("api=nginx@sha256:abc", "at least 32 hex digits"),
            (
                "api=nginx@sha256:0123456789abcdef0123456789abcdef0",
                "must have 64 hex digits",
            ),
            ("api=nginx@md5", "is not `algorithm:hex`"),
            ("api=Nginx:1", "`Nginx` is not a valid name component"),
            ("api=localhost:50a0/x:1", "registry port `50a0`"),
            ("api=ghcr.io//x", "empty path component"),
            ("api=nginx:-1", "not starting with"),
        ];
        for (input, expected) in cases {
            let e = ImageRef::parse(input).unwrap_err();
            assert!(e.to_string().contains(expected), "{input}: {e}");
        }
    }

    #[test]
    fn a_new_tag_drops_an_old_digest() {
        let c = ImageRef::parse("api:2").unwrap().to_change();
        assert_eq!(c.new_tag, Field::Set("2".into()));
        assert_eq!(c.digest, Field::Remove);
        assert_eq!(c.new_name, Field::Keep);
    }
}
