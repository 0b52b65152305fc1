//! Every resource lives in exactly one (account, region) scope.

use std::fmt;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Scope {
    pub account: String,
    pub region: String,
    /// `account/region`, made once: a request reads documents under it several times. Nothing
    /// changes `account` or `region` after [`Scope::new`] (a changed one would leave this stale).
    key: String,
}

impl Scope {
    pub fn new(account: impl Into<String>, region: impl Into<String>) -> Self {
        let (account, region) = (account.into(), region.into());
        let mut key = String::with_capacity(account.len() + 1 + region.len());
        key.push_str(&account);
        key.push('/');
        key.push_str(&region);
        Scope { account, region, key }
    }

    /// The store key of the scope, `account/region`, borrowed: a request reads and writes documents
    /// under it several times.
    pub fn key(&self) -> &str {
        &self.key
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
