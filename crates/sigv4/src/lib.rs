//! AWS Signature Version 4 (SigV4), sans I/O: verifying the requests that reach the server, and
//! signing the requests that the benchmark client and the tests send.
//!
//! Every AWS SDK authenticates to KMS with SigV4, so this crate decides who is calling. It does
//! no I/O and reads no clock: the caller hands in the request as received and the current time,
//! which keeps every rule testable with fixed vectors and no sleeping.
//!
//! Verification is two steps with the key lookup between them, because the secret depends on
//! the access key id inside the header:
//!
//! 1. [`parse`] reads the `Authorization` header and its companions into an [`Authorization`]
//!    (syntax only: no secret, no clock);
//! 2. [`Authorization::check`] applies the policy that needs the clock and the server's identity
//!    ([`Endpoint`]): the five-minute window, `host` signed, the credential scope;
//! 3. the server finds the secret key for [`Authorization::access_key_id`] (an unknown id is the
//!    server's `UnrecognizedClientException`);
//! 4. [`verify`] repeats the checks, recomputes the signature and compares it in constant time.
//!
//! [`sign`] shares the canonicalization ([`canonical`]) with [`verify`], so the two cannot
//! disagree; the AWS test suite and an independent signer pin both to what AWS computes.
//!
//! Errors ([`Error`]) carry the code and message AWS's JSON services answer with, so SDKs react
//! to them as they would to AWS (clock-skew correction keys on `InvalidSignatureException`).
//!
//! Secrets are only ever borrowed (`&[u8]`); derived signing keys live in wiping wrappers; and
//! no type here prints a usable signature or security token in `Debug` or in an error message.
//!
//! Only what KMS needs is implemented: the `Authorization` header (no presigned query strings),
//! `AWS4-HMAC-SHA256` (no SigV4a), the non-S3 path rules, a body hashed whole (no
//! `UNSIGNED-PAYLOAD`, no chunked streaming).
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod authorization;
pub mod canonical;
mod error;
#[doc(hidden)]
pub mod fuzzing;
mod signing;
mod time;
mod verify;

use std::fmt;

pub use authorization::{Authorization, MAX_AUTHORIZATION_LEN, MAX_SIGNED_HEADERS, parse};
pub use error::{
    DateHeader, DateMismatch, Error, IncompleteSignature, InvalidSignature, MAX_CLOCK_SKEW_SECS,
    ScopeMismatch,
};
pub use signing::{Signed, SigningKey, sign, signature};
pub use verify::{Endpoint, verify, verify_with_key};

/// An HTTP request as the server received it, borrowed.
///
/// `Debug` prints header names and the body length only: header values include the
/// `Authorization` header, and the body of a KMS request can hold plaintext.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    /// The method, e.g. `POST`.
    pub method: &'a str,
    /// The path exactly as received, still percent-encoded, without the query.
    pub path: &'a str,
    /// The query string exactly as received, without the `?`; empty when there is none.
    pub query: &'a str,
    /// Every header in the order received; names in any case, repeated names allowed. Over
    /// HTTP/2, the caller must pass the `:authority` as `host`.
    pub headers: &'a [(&'a str, &'a [u8])],
    /// The whole body.
    pub body: &'a [u8],
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| *n).collect();
        f.debug_struct("Request")
            .field("method", &self.method)
            .field("path", &self.path)
            .field("query", &self.query)
            .field("header_names", &names)
            .field("body_len", &self.body.len())
            .finish()
    }
}
