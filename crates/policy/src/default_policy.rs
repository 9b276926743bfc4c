//! The key policy KMS attaches when CreateKey is called without one.
//!
//! The text is byte-for-byte what AWS KMS's GetKeyPolicy returns for such a key (the KMS API
//! model's GetKeyPolicy example): Jackson's pretty printer, two-space indent, a space before each
//! colon, `[ {` and `} ]` around the single statement, no trailing newline. Clients compare and
//! diff this text (Terraform shows a perpetual diff when it changes), so the layout is part of
//! the wire contract, not cosmetics.

/// The default key policy document for a key owned by `account_id` in `partition`.
///
/// Both arguments come from Strongroom's own configuration; they are JSON-escaped all the same,
/// so the result is always a valid document.
pub fn default_key_policy(partition: &str, account_id: &str) -> String {
    let root = escape(&format!("arn:{partition}:iam::{account_id}:root"));
    format!(
        r#"{{
  "Version" : "2012-10-17",
  "Id" : "key-default-1",
  "Statement" : [ {{
    "Sid" : "Enable IAM User Permissions",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "{root}"
    }},
    "Action" : "kms:*",
    "Resource" : "*"
  }} ]
}}"#
    )
}

/// The fixed key policy of a provider-managed key (`alias/aws/<service>`): the account's
/// principals may use the key through `service` in `region` (`kms:ViaService`), and the
/// account may read its metadata. Nobody may manage it: the service that owns it does.
pub fn managed_key_policy(
    partition: &str,
    account_id: &str,
    service: &str,
    region: &str,
) -> String {
    let root = escape(&format!("arn:{partition}:iam::{account_id}:root"));
    let account = escape(account_id);
    let via = escape(&format!("{service}.{region}.amazonaws.com"));
    let service = escape(service);
    format!(
        r#"{{
  "Version" : "2012-10-17",
  "Id" : "auto-{service}-1",
  "Statement" : [ {{
    "Sid" : "Allow access through {service} for all principals in the account that are authorized to use {service}",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "*"
    }},
    "Action" : [ "kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:CreateGrant", "kms:DescribeKey" ],
    "Resource" : "*",
    "Condition" : {{
      "StringEquals" : {{
        "kms:CallerAccount" : "{account}",
        "kms:ViaService" : "{via}"
      }}
    }}
  }}, {{
    "Sid" : "Allow direct access to key metadata to the account",
    "Effect" : "Allow",
    "Principal" : {{
      "AWS" : "{root}"
    }},
    "Action" : [ "kms:Describe*", "kms:Get*", "kms:List*" ],
    "Resource" : "*"
  }} ]
}}"#
    )
}

/// Escapes `s` for use between JSON double quotes.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if u32::from(c) < 0x20 => out.push_str(&format!("\\u{:04x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_managed_key_policy_is_a_valid_key_policy_naming_the_service() {
        let p = managed_key_policy("aws", "111122223333", "s3", "eu-west-1");
        assert!(crate::parse_key_policy(&p).is_ok(), "{p}");
        assert!(p.contains("\"kms:ViaService\" : \"s3.eu-west-1.amazonaws.com\""));
        assert!(p.contains("arn:aws:iam::111122223333:root"));
    }
    use crate::model::{
        ActionPattern, AwsPrincipal, Effect, IamIdentity, Principal, PrincipalSpec,
    };
    use crate::model::{PolicyVersion, Principals, ResourcePattern, ResourceSpec};

    /// The `Policy` string of the KMS API model's GetKeyPolicy example.
    const AWS_EXAMPLE: &str = "{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {\n    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n    \"Principal\" : {\n      \"AWS\" : \"arn:aws:iam::111122223333:root\"\n    },\n    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  } ]\n}";

    #[test]
    fn matches_the_text_kms_returns_byte_for_byte() {
        assert_eq!(default_key_policy("aws", "111122223333"), AWS_EXAMPLE);
    }

    #[test]
    fn parses_as_the_account_root_statement() {
        let policy =
            crate::parse_key_policy(&default_key_policy("aws-cn", "444455556666")).unwrap();
        assert_eq!(policy.version, Some(PolicyVersion::V2012_10_17));
        assert_eq!(policy.id.as_deref(), Some("key-default-1"));
        let [statement] = policy.statements.as_slice() else {
            panic!("one statement")
        };
        assert_eq!(
            statement.sid.as_deref(),
            Some("Enable IAM User Permissions")
        );
        assert_eq!(statement.effect, Effect::Allow);
        let PrincipalSpec::Principal(Principals::Listed(list)) = &statement.principal else {
            panic!()
        };
        let [Principal::Aws(AwsPrincipal::Arn(arn))] = list.as_slice() else {
            panic!()
        };
        assert_eq!(
            (arn.partition.as_str(), arn.account_id.as_str()),
            ("aws-cn", "444455556666")
        );
        assert_eq!(arn.identity, IamIdentity::Root);
        assert_eq!(
            statement.action,
            Some(crate::model::ActionSpec::Action(vec![
                ActionPattern::Scoped {
                    service: "kms".into(),
                    action: "*".into()
                }
            ]))
        );
        assert_eq!(
            statement.resource,
            Some(ResourceSpec::Resource(vec![ResourcePattern::All]))
        );
    }

    #[test]
    fn hostile_arguments_still_give_valid_json() {
        let text = default_key_policy("a\"ws", "1\\2\n");
        assert!(serde_json::from_str::<serde_json::Value>(&text).is_ok());
    }
}
