//! Security rules about what the repository itself holds: secret values committed in the
//! clear.

mod plaintext_secret;

pub use plaintext_secret::PLAINTEXT_SECRET;
pub use plaintext_secret::holds_sops_ciphertext;
pub(crate) use plaintext_secret::is_sops_encrypted;

#[cfg(test)]
mod tests {
    use crate::testing::fixture;

    #[test]
    fn plaintext_secret() {
        fixture("security/plaintext-secret");
    }
}
