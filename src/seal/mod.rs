//! Sealed values: the keys, the token, the cryptography that seals and opens one
//! value, and new random secrets.
//!
//! Normative text: `spec/format.md` sections 1.4 (base64url, [`base64url`]),
//! 2 and 3 (keys and key ids, [`key`]), 4 (the token, [`token`]), 5 to 7 (sealing,
//! associated data, plaintext and padding, [`value`]), 9.1 and 9.2 (choosing the
//! key and opening one value, [`value`]); `spec/git.md` section 3 (the conflict
//! marker, [`token`]).

pub mod base64url;
mod error;
pub mod generate;
pub mod key;
pub mod token;
pub mod value;

pub use error::OpenError;
pub use key::{Identities, KeyError, KeyId, PublicKey, SecretKey};
pub use token::{Conflict, SealedAt, Token};
pub use value::{Opener, Place, Sealer};
