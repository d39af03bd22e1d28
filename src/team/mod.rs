//! Team access: the policy (`.cachet.toml`), members, keyrings, key pins and
//! personal identity files, and the rules of a repository that a member's or a
//! sealer's command follows.
//!
//! Normative text: `spec/policy.md` (the policy and finding it, section 2, in
//! [`policy`] and [`repo`]; which environment a file belongs to, section 2.5, in
//! [`target`]; globs, section 3; keyrings, section 4, in [`keyring`]; identities,
//! section 5, in [`identity_file`] and [`unlock`]; key pinning, section 6, in
//! [`pins`]; consistency and repair, section 7, in [`trust`] and [`members`];
//! rotation, section 7.1, in [`rotation`]) and `spec/identity.md` (protected
//! identity files, in [`protected_identity`]).

pub mod attester;
mod error;
pub mod identity_file;
pub mod identity_sources;
pub mod keyring;
pub mod member;
pub mod members;
pub mod pins;
pub mod policy;
pub mod protected_identity;
pub mod repo;
pub mod rotation;
mod session;
pub mod target;
pub mod trust;
pub mod unlock;

pub use error::{TeamError, Unopenable};
pub use identity_sources::{IdentityError, IdentitySources};
pub use keyring::{Keyring, KeyringError};
pub use member::Member;
pub use policy::{Environment, POLICY_FILE, Policy, PolicyError};
pub use repo::Repo;
pub use session::{Observer, Quiet, Session};
