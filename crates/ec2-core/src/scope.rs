//! Every resource lives in exactly one (account, region) scope.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    pub account: String,
    pub region: String,
}

impl Scope {
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        Scope { account: account.into(), region: region.into() }
    }

    /// The store key of the scope: `account/region`.
    pub fn key(&self) -> String {
        // Joined by hand rather than through `format!`: a request makes a few of these.
        let mut key = String::with_capacity(self.account.len() + 1 + self.region.len());
        key.push_str(&self.account);
        key.push('/');
        key.push_str(&self.region);
        key
    }
}

impl fmt::Display for Scope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.account, self.region)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_key_is_account_slash_region() {
        let s = Scope::new("111122223333", "us-east-1");
        assert_eq!(s.key(), "111122223333/us-east-1");
        assert_eq!(s.key(), s.to_string());
        assert_eq!(Scope::new("", "").key(), "/");
    }
}
