//! Entry points for the fuzz targets in `fuzz/`: each takes raw bytes and must never panic.

/// Splits `data` into header values and runs `parse`, `check` and `verify` on the request.
pub fn authorization(data: &[u8]) {
    let mut parts = data.splitn(4, |b| *b == b'\n');
    let auth = parts.next().unwrap_or_default();
    let date = parts.next().unwrap_or_default();
    let host = parts.next().unwrap_or_default();
    let body = parts.next().unwrap_or_default();
    let headers: [(&str, &[u8]); 3] = [
        ("authorization", auth),
        ("x-amz-date", date),
        ("host", host),
    ];
    let req = crate::Request {
        method: "POST",
        path: "/",
        query: "",
        headers: &headers,
        body,
    };
    if let Ok(a) = crate::parse(&req) {
        let region = [a.region()];
        let endpoint = crate::Endpoint {
            service: "kms",
            regions: &region,
        };
        let _ = crate::verify(&req, &a, &endpoint, b"secret", a.request_time());
    }
}
