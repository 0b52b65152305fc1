//! Versioned schema migrations, shared by the engines that persist.
//!
//! Each engine keeps a list of migrations (SQL in its own dialect); the store's schema version is the
//! number of migrations applied, kept in the `meta` table under [`VERSION_KEY`]. At startup an engine
//! applies the pending ones in order, in one transaction, and refuses a store whose version is newer
//! than its list: that store was written by a newer ec2d, and an older one must not guess at it.

use crate::StoreError;

/// The `meta` key holding the schema version.
pub const VERSION_KEY: &str = "schema_version";
/// The `meta` key naming the ec2d version that last migrated the store (for error messages).
pub const WRITTEN_BY_KEY: &str = "written_by";
/// This ec2d's version, recorded under [`WRITTEN_BY_KEY`].
pub const THIS_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What to do with a store at version `found` when this ec2d knows `known` migrations: `Ok(range)` of
/// the migrations to apply (possibly empty), or the error for a store written by a newer ec2d.
pub fn pending(
    engine: &str,
    found: i64,
    written_by: Option<&str>,
    known: usize,
) -> Result<std::ops::Range<usize>, StoreError> {
    let known_i = i64::try_from(known).unwrap_or(i64::MAX);
    if found > known_i || found < 0 {
        return Err(StoreError::Engine(format!(
            "the {engine} store has schema version {found}{}, but this ec2d ({THIS_VERSION}) knows versions up to \
             {known}: upgrade ec2d, or give it another store",
            written_by.map(|v| format!(" (written by ec2d {v})")).unwrap_or_default()
        )));
    }
    Ok(usize::try_from(found).unwrap_or(0)..known)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pending_migrations_and_newer_stores() {
        assert_eq!(pending("x", 0, None, 2).unwrap(), 0..2);
        assert_eq!(pending("x", 2, None, 2).unwrap(), 2..2);
        let e = pending("sqlite", 3, Some("9.9.9"), 2).unwrap_err().to_string();
        assert!(e.contains("schema version 3") && e.contains("9.9.9") && e.contains("up to 2"), "{e}");
        assert!(pending("x", -1, None, 2).is_err());
    }
}
