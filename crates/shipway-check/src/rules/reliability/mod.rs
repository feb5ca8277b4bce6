//! Reliability and high-availability rules: what makes a workload fail, flap or go down
//! during a node drain or a rollout.

mod latest_image_tag;

pub use latest_image_tag::LATEST_IMAGE_TAG;

#[cfg(test)]
mod tests {
    use crate::testing::fixture;

    #[test]
    fn latest_image_tag() {
        fixture("reliability/latest-image-tag");
    }
}
