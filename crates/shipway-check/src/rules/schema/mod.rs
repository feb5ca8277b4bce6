//! Schema rules: what the API server would reject before any controller sees the object.

mod duplicate_object;

pub use duplicate_object::DUPLICATE_OBJECT;

#[cfg(test)]
mod tests {
    use crate::testing::{lint, show};

    fn fixture(code: &str) {
        let name = code.split_once('/').map_or(code, |(_, n)| n);
        let path = format!(
            "{}/resources/fixtures/schema/{name}.yaml",
            env!("CARGO_MANIFEST_DIR")
        );
        let yaml = std::fs::read_to_string(&path).unwrap();
        insta::assert_snapshot!(name, show(&yaml, &lint(code, &yaml)));
    }

    #[test]
    fn duplicate_object() {
        fixture("schema/duplicate-object");
    }
}
