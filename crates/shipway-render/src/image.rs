//! Image references and kustomize's `images` transformer, shared by the renderer and by
//! apps whose Argo CD `kustomize.images` overrides are applied to a render.

use shipway_model::{Node, Pos, Value};

use crate::kustomization::ImageSpec;

/// Splits an image reference into name, tag and digest. The tag is after the last `:`
/// of the last path segment, so a registry port (`host:5000/app`) stays in the name.
pub fn split_image(image: &str) -> (&str, Option<&str>, Option<&str>) {
    let (rest, digest) = match image.split_once('@') {
        Some((rest, digest)) => (rest, Some(digest)),
        None => (image, None),
    };
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[slash..].rfind(':') {
        Some(colon) => (
            &rest[..slash + colon],
            Some(&rest[slash + colon + 1..]),
            digest,
        ),
        None => (rest, None, digest),
    }
}

impl ImageSpec {
    /// The rewritten image, or `None` when `image`'s name is not this entry's: the name
    /// replaced by `newName`, and a new tag or digest replacing both the old tag and the
    /// old digest, as kustomize does.
    pub fn apply(&self, image: &str) -> Option<String> {
        let (name, tag, digest) = split_image(image);
        if name != self.name {
            return None;
        }
        let mut name = self.new_name.clone().unwrap_or_else(|| name.to_string());
        let (tag, digest) = match (&self.new_tag, &self.digest) {
            (Some(t), Some(d)) if !t.is_empty() && !d.is_empty() => {
                (Some(t.as_str()), Some(d.as_str()))
            }
            (Some(t), _) if !t.is_empty() => (Some(t.as_str()), None),
            (_, Some(d)) if !d.is_empty() => (None, Some(d.as_str())),
            _ => (tag, digest),
        };
        if let Some(tag) = tag {
            name.push(':');
            name.push_str(tag);
        }
        if let Some(digest) = digest {
            name.push('@');
            name.push_str(digest);
        }
        Some(name)
    }
}

/// Rewrites `image` in every `containers`/`initContainers` list anywhere in `node` (as
/// kustomize's legacy image filter walks them, so custom resources embedding pod specs are
/// covered) with `update`, keeping each field's position.
pub fn walk_containers(node: &mut Node, update: &dyn Fn(&str) -> Option<String>) {
    match &mut node.value {
        Value::Map(map) => {
            for entry in &mut map.entries {
                if (entry.key == "containers" || entry.key == "initContainers")
                    && let Some(items) = entry.value.as_seq_mut()
                {
                    for item in items {
                        if let Some(new) = item.str_at(&["image"]).and_then(update)
                            && let Some(m) = item.as_map_mut()
                        {
                            let pos = m.get("image").map_or(Pos::NONE, |n| n.pos);
                            m.insert("image".into(), Node::at(Value::Str(new), pos));
                        }
                    }
                }
                walk_containers(&mut entry.value, update);
            }
        }
        Value::Seq(items) => items.iter_mut().for_each(|i| walk_containers(i, update)),
        _ => {}
    }
}
