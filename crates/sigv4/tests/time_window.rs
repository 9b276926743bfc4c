//! AWS's clock-skew window: a request is good from five minutes before to five minutes after
//! the server's clock, inclusive, and the errors outside it carry AWS's exact wording, which
//! SDKs with clock-skew correction match on.

mod common;

use common::*;
use strongroom_sigv4::{Error, InvalidSignature, MAX_CLOCK_SKEW_SECS};

const T: i64 = SUITE_TIME;

#[test]
fn the_window_is_five_minutes_each_way() {
    assert_eq!(MAX_CLOCK_SKEW_SECS, 300);
}

#[test]
fn exactly_300_seconds_either_side_is_accepted() {
    let req = signed(kms_request(), T);
    for now in [T - 300, T - 1, T, T + 1, T + 300] {
        assert_eq!(verify_kms(&req, now), Ok(()), "now = T{:+}", now - T);
    }
}

#[test]
fn a_request_301_seconds_old_has_expired() {
    let req = signed(kms_request(), T);
    let err = verify_kms(&req, T + 301).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidSignature(InvalidSignature::Expired {
            request_time: T,
            now: T + 301
        })
    );
    assert_eq!(err.aws_error_code(), "InvalidSignatureException");
    assert_eq!(
        err.message(),
        "Signature expired: 20150830T123600Z is now earlier than 20150830T123601Z \
         (20150830T124101Z - 5 min.)"
    );
}

#[test]
fn a_request_301_seconds_ahead_is_not_yet_current() {
    let req = signed(kms_request(), T);
    let err = verify_kms(&req, T - 301).unwrap_err();
    assert_eq!(
        err,
        Error::InvalidSignature(InvalidSignature::NotYetCurrent {
            request_time: T,
            now: T - 301
        })
    );
    assert_eq!(err.aws_error_code(), "InvalidSignatureException");
    assert_eq!(
        err.message(),
        "Signature not yet current: 20150830T123600Z is still later than 20150830T123559Z \
         (20150830T123059Z + 5 min.)"
    );
}

#[test]
fn the_window_is_checked_before_the_key_is_needed() {
    // `check` runs without the secret, so a server can refuse stale requests before the key
    // lookup, as AWS does.
    let req = signed(kms_request(), T);
    let auth = req.with(strongroom_sigv4::parse).unwrap();
    assert_eq!(auth.check(&KMS, T + 300), Ok(()));
    assert!(matches!(
        auth.check(&KMS, T + 301),
        Err(Error::InvalidSignature(InvalidSignature::Expired { .. }))
    ));
}

#[test]
fn a_request_signed_just_before_midnight_keeps_its_own_day_in_the_scope() {
    let t = 1_440_979_199; // 20150830T235959Z
    let req = signed(kms_request(), t);
    assert!(authorization(&req).contains("/20150830/us-east-1/kms/aws4_request"));
    assert_eq!(verify_kms(&req, t + 2), Ok(()));
}
