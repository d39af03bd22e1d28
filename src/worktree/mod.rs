//! The files of a checkout, as every part of cachet reads and writes them:
//! crash-safe replacement under a lock ([`atomic`], `spec/security.md` section 3),
//! the one walk of a tree ([`walk`], `spec/audit.md` section 1), what git says
//! of it ([`git`]) and the lines cachet adds to its `.gitignore` ([`gitignore`]).

pub mod atomic;
pub mod git;
pub mod gitignore;
pub mod walk;

pub use atomic::{FileLock, Mode, write_atomic};
pub use walk::{Skip, WalkError, WalkedFile, walk};
