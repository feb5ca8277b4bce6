//! [`Secret`]: the wrapper every decrypted value and key travels in, so that a stray
//! `{:?}` or `{}` in a log line, an error or a test assertion prints `***` and never the
//! value, and the memory is wiped when the value is dropped.

use std::fmt;

use zeroize::Zeroize;

/// A value that must not be printed. `Debug` and `Display` write `***`; dropping it
/// overwrites its memory (`zeroize`). Read it with [`Secret::expose`].
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret<T: Zeroize>(T);

impl<T: Zeroize> Secret<T> {
    /// Wraps `value`.
    pub fn new(value: T) -> Secret<T> {
        Secret(value)
    }

    /// The value itself. Callers decide where it may go: only `shipway secret decrypt`
    /// and the objects sent to the cluster ever see it.
    pub fn expose(&self) -> &T {
        &self.0
    }

    /// Mutable access, for editing a value in place without copying it.
    pub fn expose_mut(&mut self) -> &mut T {
        &mut self.0
    }
}

impl<T: Zeroize> Drop for Secret<T> {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<T: Zeroize> fmt::Debug for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

impl<T: Zeroize> fmt::Display for Secret<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

#[cfg(test)]
mod tests {
    use super::Secret;

    #[test]
    fn debug_and_display_hide_the_value() {
        let s = Secret::new(String::from("hunter2"));
        assert_eq!(format!("{s:?} {s}"), "*** ***");
        assert_eq!(s.expose(), "hunter2");
    }
}
