//! Entry points for the fuzz targets in `fuzz/`: each takes raw bytes and must never panic.

use crate::query::Params;

/// Checks `data` as the body of CloudTrail's `LookupEvents` (its shape, attributes, times,
/// page size and `NextToken`), as the operation does before it reads the trail.
pub fn lookup_events_request(data: &[u8]) {
    let _ = crate::cloudtrail::lookup::check_request(data, "111122223333");
}

/// Parses `data` as an IAM/STS Query form body and reads it the ways the operations do:
/// scalars, integers, string lists and structure lists.
pub fn query_form(data: &[u8]) {
    let Ok(params) = Params::parse(data) else {
        return;
    };
    let _ = params.get("Action");
    let _ = params.int("MaxItems", "maxItems");
    let _ = params.list("TagKeys");
    let _ = params.struct_list("Tags");
    let _ = params.struct_list("PolicyArns");
}
