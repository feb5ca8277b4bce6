//! Reliability and high-availability rules: what makes a workload fail, flap or go down
//! during a node drain or a rollout.

mod latest_image_tag;

pub use latest_image_tag::LATEST_IMAGE_TAG;

#[cfg(test)]
mod tests {
    use crate::testing::{lint, show};

    fn fixture(code: &str) {
        let name = code.split_once('/').map_or(code, |(_, n)| n);
        let path = format!(
            "{}/resources/fixtures/reliability/{name}.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let yaml = std::fs::read_to_string(&path).unwrap();
        insta::assert_snapshot!(name, show(&yaml, &lint(code, &yaml)));
    }

    #[test]
    fn latest_image_tag() {
        fixture("reliability/latest-image-tag");
    }
}
