use super::*;

fn parse(body: &str) -> Result<Params, QueryError> {
    Params::parse(body.as_bytes())
}

fn malformed_message(body: &[u8]) -> String {
    match Params::parse(body) {
        Err(QueryError::Malformed(m)) => m,
        other => panic!("expected MalformedQueryString for {body:?}, got {other:?}"),
    }
}

#[test]
fn scalars_decode_percent_escapes_and_plus() {
    let p = parse("Action=CreateUser&Version=2010-05-08&UserName=a%2Bb&Path=%2Fx%2F&D=a+b%20c")
        .unwrap();
    assert_eq!(p.get("Action"), Some("CreateUser"));
    assert_eq!(p.get("UserName"), Some("a+b"));
    assert_eq!(p.get("Path"), Some("/x/"));
    assert_eq!(p.get("D"), Some("a b c"));
    assert_eq!(p.get("Nope"), None);
    // Multi-byte UTF-8, escaped.
    let p = parse("V=%C3%A9%E2%82%AC").unwrap();
    assert_eq!(p.get("V"), Some("é€"));
}

#[test]
fn empty_parts_and_missing_values_are_tolerated() {
    let p = parse("&&Action=GetUser&&Flag&Empty=").unwrap();
    assert_eq!(p.get("Action"), Some("GetUser"));
    assert_eq!(p.get("Flag"), Some(""));
    assert_eq!(p.get("Empty"), Some(""));
    assert!(parse("").unwrap().get("Action").is_none());
}

#[test]
fn malformed_bodies_are_refused_with_a_precise_reason() {
    let m = malformed_message(b"Action=X&Bad=%G1");
    assert!(m.contains("percent-encoding at byte 13"), "{m}");
    let m = malformed_message(b"Bad=%4");
    assert!(m.contains("percent-encoding at byte 4"), "{m}");
    let m = malformed_message(b"A=\xc3\xa9");
    assert!(
        m.contains("Byte 2 ") && m.contains("not printable ASCII"),
        "{m}"
    );
    let m = malformed_message(b"A=b c");
    assert!(m.contains("Byte 3 "), "{m}");
    let m = malformed_message(b"A=%FF%FE");
    assert!(m.contains("not UTF-8"), "{m}");
    let m = malformed_message(b"%C3=x");
    assert!(m.contains("not UTF-8"), "{m}");
    let m = malformed_message(b"A=1&A=2");
    assert!(m.contains("A appears more than once"), "{m}");
    let m = malformed_message(b"=x");
    assert!(m.contains("empty name"), "{m}");
    let long = format!("{}=x", "N".repeat(MAX_NAME_LEN + 1));
    let m = malformed_message(long.as_bytes());
    assert!(m.contains("longer than 256"), "{m}");
}

#[test]
fn the_number_of_parameters_is_bounded() {
    let ok: Vec<String> = (0..MAX_PARAMS).map(|i| format!("P{i}=v")).collect();
    assert!(parse(&ok.join("&")).is_ok());
    let too_many: Vec<String> = (0..=MAX_PARAMS).map(|i| format!("P{i}=v")).collect();
    let m = malformed_message(too_many.join("&").as_bytes());
    assert!(m.contains("more than 1000 parameters"), "{m}");
}

#[test]
fn lists_are_numbered_from_one_without_gaps() {
    let p = parse("TagKeys.member.2=b&TagKeys.member.1=a&TagKeys.member.10=j").unwrap();
    assert!(
        matches!(p.list("TagKeys"), Err(QueryError::Malformed(m)) if m.contains("without gaps"))
    );
    let p = parse("TagKeys.member.2=b&TagKeys.member.1=a").unwrap();
    assert_eq!(
        p.list("TagKeys").unwrap(),
        Some(vec!["a".into(), "b".into()])
    );
    assert_eq!(p.list("Other").unwrap(), None);
    // `[]` is sent as the bare name.
    let p = parse("TagKeys=").unwrap();
    assert_eq!(p.list("TagKeys").unwrap(), Some(vec![]));
    for bad in [
        "TagKeys.member.0=a",
        "TagKeys.member.01=a",
        "TagKeys.member.x=a",
        "TagKeys.member.1001=a",
        "TagKeys.member.99999999999999999999=a",
        "TagKeys.member.=a",
    ] {
        let p = parse(bad).unwrap();
        assert!(
            matches!(p.list("TagKeys"), Err(QueryError::Malformed(_))),
            "{bad}"
        );
    }
    // A structure where a scalar is expected.
    let p = parse("TagKeys.member.1.Key=a").unwrap();
    assert!(matches!(p.list("TagKeys"), Err(QueryError::Malformed(_))));
}

#[test]
fn structure_lists_collect_fields_per_member() {
    let p = parse(
        "Tags.member.1.Key=Dept&Tags.member.1.Value=Eng&Tags.member.2.Key=Empty&Tags.member.2.Value=",
    )
    .unwrap();
    let tags = p.struct_list("Tags").unwrap().unwrap();
    assert_eq!(tags.len(), 2);
    assert_eq!(tags[0].get("Key").map(String::as_str), Some("Dept"));
    assert_eq!(tags[0].get("Value").map(String::as_str), Some("Eng"));
    assert_eq!(tags[1].get("Value").map(String::as_str), Some(""));
    assert!(p.has("Tags"));
    assert!(!p.has("Tag"));
    let p = parse("Tags.member.1=x").unwrap();
    assert!(matches!(
        p.struct_list("Tags"),
        Err(QueryError::Malformed(_))
    ));
    // Prefixes of other names are not members.
    let p = parse("TagsExtra.member.1.Key=a").unwrap();
    assert_eq!(p.struct_list("Tags").unwrap(), None);
    assert!(!p.has("Tags"));
}

#[test]
fn integers_are_checked() {
    let p = parse("MaxItems=12&Bad=1x").unwrap();
    assert_eq!(p.int("MaxItems", "maxItems").unwrap(), Some(12));
    assert_eq!(p.int("Absent", "absent").unwrap(), None);
    match p.int("Bad", "bad") {
        Err(QueryError::Api(e)) => {
            let (code, status, msg) = e.query_parts("iam");
            assert_eq!((code, status), ("ValidationError", 400));
            assert!(msg.contains("'bad'"), "{msg}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn xml_text_is_escaped_and_unrepresentable_characters_replaced() {
    let mut s = String::new();
    escape_into(&mut s, "a<b>&\"c'\r\n\td\u{0}\u{1b}\u{FFFF}é");
    assert_eq!(
        s,
        "a&lt;b&gt;&amp;&quot;c&apos;&#xD;\n\td\u{FFFD}\u{FFFD}\u{FFFD}é"
    );
}

#[test]
fn responses_have_the_query_shape() {
    let body = response_body(
        QueryService::Iam,
        "GetUser",
        "req-1",
        Some(&|x: &mut Xml| {
            x.open("User");
            x.elem("UserName", "a&b");
            x.close("User");
        }),
    );
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "<GetUserResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\">\
         <GetUserResult><User><UserName>a&amp;b</UserName></User></GetUserResult>\
         <ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata></GetUserResponse>"
    );
    let body = response_body(QueryService::Sts, "Nothing", "r", None);
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "<NothingResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\">\
         <ResponseMetadata><RequestId>r</RequestId></ResponseMetadata></NothingResponse>"
    );
}

#[test]
fn errors_have_the_query_shape() {
    let body = error_body(QueryService::Iam, "NoSuchEntity", 404, "no <user>", "r-9");
    assert_eq!(
        String::from_utf8(body).unwrap(),
        "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error>\
         <Type>Sender</Type><Code>NoSuchEntity</Code><Message>no &lt;user&gt;</Message>\
         </Error><RequestId>r-9</RequestId></ErrorResponse>"
    );
    let body = String::from_utf8(error_body(QueryService::Sts, "X", 500, "", "r")).unwrap();
    assert!(body.contains("<Type>Receiver</Type>"), "{body}");
}

#[test]
fn timestamps_are_iso8601_utc() {
    assert_eq!(iso8601(Timestamp(0)), "1970-01-01T00:00:00Z");
    assert_eq!(iso8601(Timestamp(951_782_400_000)), "2000-02-29T00:00:00Z");
    assert_eq!(
        iso8601(Timestamp(1_709_294_399_999)),
        "2024-03-01T11:59:59Z"
    );
    assert_eq!(
        iso8601(Timestamp(4_102_444_800_000)),
        "2100-01-01T00:00:00Z"
    );
}

#[test]
fn policy_documents_are_url_encoded() {
    assert_eq!(
        url_encode("{\"A\": \"b~c-d_e.f/%\"}"),
        "%7B%22A%22%3A%20%22b~c-d_e.f%2F%25%22%7D"
    );
    assert_eq!(url_encode("é"), "%C3%A9");
}

#[test]
fn only_form_posts_without_a_target_are_query_requests() {
    let req = |method: &'static str, headers: &'static [(&'static str, &'static [u8])]| Request {
        method,
        path: "/",
        query: "",
        headers,
        body: b"",
    };
    assert!(is_query_request(&req(
        "POST",
        &[(
            "Content-Type",
            b"application/x-www-form-urlencoded; charset=utf-8"
        )]
    )));
    assert!(is_query_request(&req(
        "POST",
        &[("content-type", b"APPLICATION/X-WWW-FORM-URLENCODED")]
    )));
    assert!(!is_query_request(&req(
        "GET",
        &[("content-type", b"application/x-www-form-urlencoded")]
    )));
    assert!(!is_query_request(&req(
        "POST",
        &[
            ("content-type", b"application/x-www-form-urlencoded"),
            ("x-amz-target", b"TrentService.ListKeys")
        ]
    )));
    assert!(!is_query_request(&req(
        "POST",
        &[("content-type", b"application/x-amz-json-1.1")]
    )));
    assert!(!is_query_request(&req("POST", &[])));
}

/// Arbitrary bodies never panic the parser or the list readers; whatever parses is refused
/// or read, never half-read.
#[test]
fn arbitrary_bodies_never_panic() {
    const ALPHABET: &[u8] = b"AT.m1r0e9=&%+2Fb\xc3\xa9\xff \x00";
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for _ in 0..20_000 {
        let len = usize::try_from(next() % 48).unwrap();
        let body: Vec<u8> = (0..len)
            .map(|_| ALPHABET[usize::try_from(next()).unwrap() % ALPHABET.len()])
            .collect();
        if let Ok(p) = Params::parse(&body) {
            for name in ["A", "T", "Tm", "T.m", "A.member"] {
                let _ = p.list(name);
                let _ = p.struct_list(name);
                let _ = p.int(name, "m");
                let _ = p.has(name);
            }
        }
    }
}
