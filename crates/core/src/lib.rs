//! The Strongroom domain, without I/O: keys and their versions, key states and the one state
//! machine that changes them, aliases, tags, identities, the encryption context, the ciphertext
//! blob format, the list of KMS operations and the one error type every front end maps.
//!
//! Nothing here knows about HTTP, JSON, async runtimes or storage; front ends translate their
//! wire formats into these types and the service crate drives them.
#![forbid(unsafe_code)]

pub mod alias;
pub mod ciphertext;
pub mod context;
pub mod error;
pub mod grant;
pub mod identity;
pub mod ids;
pub mod import;
pub mod key;
pub mod lifecycle;
pub mod operation;
pub mod state;
pub mod time;

pub use error::KmsError;
