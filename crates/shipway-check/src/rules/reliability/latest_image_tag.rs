//! `reliability/latest-image-tag`: containers whose image has no tag, or `:latest`.

use shipway_model::Node;

use crate::Ctx;
use crate::rules::{Check, Rule, rule};
use crate::workload::{containers, pod_template};

rule! {
    /// ## What it checks
    /// Every container, init container and ephemeral container of a pod or pod template
    /// whose `image` has no tag and no digest, or the tag `latest`.
    ///
    /// ## Why it matters
    /// A moving tag makes two pods of one Deployment run different code, makes rollbacks
    /// return to whatever `latest` is today, and hides what is deployed from git.
    ///
    /// ## Example
    /// ```yaml
    /// containers:
    /// - name: web
    ///   image: nginx
    /// ```
    ///
    /// ## Use instead
    /// ```yaml
    /// containers:
    /// - name: web
    ///   image: nginx:1.27.2
    /// ```
    /// or pin a digest (`nginx@sha256:…`); `shipway release` writes either.
    ///
    /// ## Options
    /// None.
    ///
    /// ## Fix safety
    /// No automatic fix: the right tag is the one you tested.
    ///
    /// ## References
    /// - <https://kubernetes.io/docs/concepts/containers/images/#image-names>
    pub static LATEST_IMAGE_TAG = {
        code: "reliability/latest-image-tag",
        summary: "A container image is untagged or uses `:latest`",
        severity: Warning,
        status: Stable,
        check: Check::PerObject(latest_image_tag),
    };
}

fn latest_image_tag(ctx: &mut Ctx<'_>, rule: &'static Rule, object: &Node) {
    let Some(pod) = pod_template(object) else {
        return;
    };
    for (list, index, container) in containers(pod.spec) {
        let Some(image) = container.str_at(&["image"]) else {
            continue;
        };
        let tag = image_tag(image);
        let problem = match tag {
            _ if image.contains('@') => continue,
            None => "has no tag (it means `latest`)",
            Some("latest") => "uses the `latest` tag",
            Some(_) => continue,
        };
        let name = container.str_at(&["name"]).unwrap_or("");
        ctx.report(
            rule,
            object,
            &format!("{}.{list}[{index}].image", pod.spec_path),
            format!("image `{image}` of container `{name}` {problem}; pin a version or digest"),
        );
    }
}

/// The tag of an image reference (`registry:5000/app:1.0` → `1.0`).
fn image_tag(image: &str) -> Option<&str> {
    let last = image.rsplit('/').next().unwrap_or(image);
    last.split_once(':').map(|(_, tag)| tag)
}

#[cfg(test)]
mod tests {
    use super::image_tag;

    #[test]
    fn tags_ignore_registry_ports() {
        assert_eq!(image_tag("registry:5000/app"), None);
        assert_eq!(image_tag("registry:5000/app:1.0"), Some("1.0"));
        assert_eq!(image_tag("nginx:latest"), Some("latest"));
    }
}
