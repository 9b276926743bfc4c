//! The key policies of the evaluation table, by name: AWS's documented examples (KMS developer
//! guide and IAM user guide), trimmed to the statements each row exercises. Account
//! 111122223333 owns the key; 444455556666 is another account.

use strongroom_policy::{default_key_policy, managed_key_policy};

/// The policy named `name`, as text.
pub(crate) fn policy(name: &str) -> String {
    let statements = match name {
        "default" => return default_key_policy("aws", "111122223333"),
        "managed-ec2" => return managed_key_policy("aws", "111122223333", "ec2", "us-east-1"),
        "v2008" => return V2008.to_owned(),
        other => statements(other),
    };
    format!(r#"{{"Version": "2012-10-17", "Statement": [{statements}]}}"#)
}

const ROOT: &str = r#"{"Sid": "Enable IAM policies", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"}"#;

const V2008: &str = r#"{"Version": "2008-10-17", "Statement": [{"Effect": "Allow",
  "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"}, "Action": "kms:Decrypt",
  "Resource": "arn:aws:kms:us-east-1:111122223333:key/${aws:username}"}]}"#;

fn statements(name: &str) -> String {
    let body = match name {
        // The console's default policy: root, key administrators, key users, grants for AWS resources.
        "console" => {
            r#"
          {"Sid": "Allow access for Key Administrators", "Effect": "Allow",
           "Principal": {"AWS": "arn:aws:iam::111122223333:role/KeyAdmin"},
           "Action": ["kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*",
                      "kms:Update*", "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*",
                      "kms:TagResource", "kms:UntagResource", "kms:ScheduleKeyDeletion",
                      "kms:CancelKeyDeletion", "kms:RotateKeyOnDemand"],
           "Resource": "*"},
          {"Sid": "Allow use of the key", "Effect": "Allow",
           "Principal": {"AWS": "arn:aws:iam::111122223333:role/KeyUser"},
           "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                      "kms:DescribeKey"], "Resource": "*"},
          {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
           "Principal": {"AWS": "arn:aws:iam::111122223333:role/KeyUser"},
           "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
           "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}}"#
        }
        "context-equals" => {
            r#"
          {"Sid": "DeptIT", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"},
           "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
           "Condition": {"StringEquals": {"kms:EncryptionContext:Department": ["IT", "Security"]}}}"#
        }
        "context-keys-any" => {
            r#"
          {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"},
           "Action": "kms:GenerateDataKey", "Resource": "*",
           "Condition": {"ForAnyValue:StringEquals": {"kms:EncryptionContextKeys": ["Department", "Project"]}}}"#
        }
        "context-keys-all" => {
            r#"
          {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"},
           "Action": "kms:GenerateDataKey", "Resource": "*",
           "Condition": {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Department", "Project"]}}}"#
        }
        "context-keys-all-required" => {
            r#"
          {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"},
           "Action": "kms:GenerateDataKey", "Resource": "*",
           "Condition": {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Department", "Project"]},
                         "Null": {"kms:EncryptionContextKeys": "false"}}}"#
        }
        "context-like" => {
            r#"
          {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
           "Condition": {"StringLike": {"kms:EncryptionContext:Project": "Alpha-?-*"},
                         "StringEquals": {"kms:CallerAccount": "111122223333"}}}"#
        }
        "via-service" => {
            r#"
          {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
           "Condition": {"StringEquals": {"kms:CallerAccount": "111122223333"},
                         "StringLike": {"kms:ViaService": "*.us-east-1.amazonaws.com"}}},
          {"Sid": "NoDirectDecrypt", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
           "Condition": {"Null": {"kms:ViaService": "true"}}}"#
        }
        "source-ip" => {
            r#"
          {"Sid": "Enable IAM policies", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
          {"Sid": "DenyOutsideCorp", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
           "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]},
                         "Bool": {"aws:ViaAWSService": "false"}}}"#
        }
        "abac" => {
            r#"
          {"Sid": "MatchingProject", "Effect": "Allow", "Principal": {"AWS": "*"},
           "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
           "Condition": {"StringEquals": {"aws:ResourceTag/Project": "${aws:PrincipalTag/Project}",
                                          "aws:PrincipalAccount": "111122223333"}}}"#
        }
        "resource-tag" => {
            r#"
          {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/KeyUser"}, "Action": "kms:*", "Resource": "*",
           "Condition": {"StringEqualsIgnoreCase": {"aws:ResourceTag/Env": "Prod"}}},
          {"Sid": "NoUntagProd", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:UntagResource", "Resource": "*",
           "Condition": {"ForAnyValue:StringLike": {"aws:TagKeys": ["Env", "Owner*"]}}}"#
        }
        "not-principal" => {
            r#"
          {"Sid": "Enable IAM policies", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
          {"Sid": "OnlyAdminsManage", "Effect": "Deny",
           "NotPrincipal": {"AWS": ["arn:aws:iam::111122223333:role/KeyAdmin", "arn:aws:iam::111122223333:user/Bob"]},
           "Action": ["kms:PutKeyPolicy", "kms:ScheduleKeyDeletion"], "Resource": "*"}"#
        }
        "not-action" => {
            r#"
          {"Sid": "AllButDestroy", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"},
           "NotAction": ["kms:ScheduleKeyDeletion", "kms:Disable*", "kms:PutKeyPolicy"], "Resource": "*"}"#
        }
        "deny-wins" => {
            r#"
          {"Sid": "AliceAll", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"}, "Action": "kms:*", "Resource": "*"},
          {"Sid": "NoDecrypt", "Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"}, "Action": "kms:Decrypt", "Resource": "*"},
          {"Sid": "AccountNoDelete", "Effect": "Deny", "Principal": {"AWS": "111122223333"}, "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}"#
        }
        "if-exists" => {
            r#"
          {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"}, "Action": "kms:*", "Resource": "*",
           "Condition": {"StringEqualsIfExists": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"},
                         "NumericLessThanIfExists": {"aws:MultiFactorAuthAge": 3600}}}"#
        }
        "null" => {
            r#"
          {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"}, "Action": "kms:*", "Resource": "*"},
          {"Sid": "RequireContext", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": ["kms:Encrypt", "kms:GenerateDataKey*"], "Resource": "*",
           "Condition": {"Null": {"kms:EncryptionContextKeys": "true"}}}"#
        }
        "dates" => {
            r#"
          {"Sid": "Window", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"}, "Action": "kms:Decrypt", "Resource": "*",
           "Condition": {"DateGreaterThanEquals": {"aws:CurrentTime": "2024-01-01T00:00:00Z"},
                         "DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}},
          {"Sid": "EpochWindow", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Bob"}, "Action": "kms:Decrypt", "Resource": "*",
           "Condition": {"DateLessThanEquals": {"aws:EpochTime": 1735689600}, "DateNotEquals": {"aws:EpochTime": "2024-06-01T00:00:00Z"}}}"#
        }
        "numeric" => {
            r#"
          {"Sid": "MfaRecent", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"}, "Action": "kms:Decrypt", "Resource": "*",
           "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}},
          {"Sid": "LongWindow", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"}, "Action": "kms:ScheduleKeyDeletion", "Resource": "*",
           "Condition": {"NumericGreaterThanEquals": {"kms:ScheduleKeyDeletionPendingWindowInDays": 30},
                         "NumericNotEquals": {"kms:ScheduleKeyDeletionPendingWindowInDays": [31, 32.5]}}}"#
        }
        "variables" => {
            r#"
          {"Sid": "OwnData", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt",
           "Resource": "arn:aws:kms:us-east-1:${aws:PrincipalAccount}:key/*",
           "Condition": {"StringEquals": {"kms:EncryptionContext:Owner": "${aws:username}"}}},
          {"Sid": "TeamKeys", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Encrypt",
           "Resource": "arn:aws:kms:us-east-1:111122223333:key/${aws:PrincipalTag/Team, 'none'}-*"},
          {"Sid": "Literal", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Sign", "Resource": "*",
           "Condition": {"StringLike": {"kms:EncryptionContext:Tag": "${*}x${?}"}}}"#
        }
        "grants" => {
            r#"
          {"Sid": "ServiceGrants", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:role/KeyUser"}, "Action": "kms:CreateGrant", "Resource": "*",
           "Condition": {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt", "GenerateDataKeyWithoutPlaintext"]},
                         "Bool": {"kms:GrantIsForAWSResource": true}}},
          {"Sid": "NoRetiring", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:CreateGrant", "Resource": "*",
           "Condition": {"ForAnyValue:StringEquals": {"kms:GrantOperations": ["RetireGrant", "CreateGrant"]}}}"#
        }
        "arns" => {
            r#"
          {"Sid": "OpsRoles", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "kms:Decrypt", "Resource": "*",
           "Condition": {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::111122223333:role/Ops*"}}},
          {"Sid": "NotContractors", "Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:*", "Resource": "*",
           "Condition": {"ArnNotEquals": {"aws:PrincipalArn": ["arn:aws:iam::111122223333:role/*", "arn:aws:iam::111122223333:user/Alice"]}}}"#
        }
        "cross-account" => {
            r#"
          {"Sid": "Enable IAM policies", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
          {"Sid": "External", "Effect": "Allow", "Principal": {"AWS": ["444455556666", "arn:aws:iam::444455556666:role/Partner"]},
           "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"], "Resource": "*"}"#
        }
        "wildcards" => {
            r#"
          {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"},
           "Action": ["kms:Get*", "KMS:list*", "kms:Describe?ey"],
           "Resource": ["arn:aws:kms:*:111122223333:key/*", "arn:aws:kms:us-west-2:444455556666:key/abc?"]},
          {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Bob"}, "Action": "kms:Decrypt",
           "NotResource": "arn:aws:kms:*:111122223333:key/secret-*"}"#
        }
        "service" => {
            r#"
          {"Sid": "CloudTrail", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"}, "Action": "kms:GenerateDataKey*", "Resource": "*",
           "Condition": {"StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111122223333:trail/*"},
                         "StringEquals": {"aws:SourceAccount": "111122223333"}}}"#
        }
        "operators" => {
            r#"
          {"Sid": "Binary", "Effect": "Allow", "Principal": "*", "Action": "kms:Encrypt", "Resource": "*",
           "Condition": {"BinaryEquals": {"aws:Blob": "QmluYXJ5VmFsdWU="}}},
          {"Sid": "NotLike", "Effect": "Allow", "Principal": "*", "Action": "kms:Decrypt", "Resource": "*",
           "Condition": {"StringNotLike": {"kms:EncryptionContext:Stage": ["test*", "dev*"]}}},
          {"Sid": "NotEqualsAny", "Effect": "Allow", "Principal": "*", "Action": "kms:Sign", "Resource": "*",
           "Condition": {"ForAnyValue:StringNotEquals": {"aws:TagKeys": "Owner"}}},
          {"Sid": "V6", "Effect": "Allow", "Principal": "*", "Action": "kms:Verify", "Resource": "*",
           "Condition": {"IpAddress": {"aws:SourceIp": "2001:db8:1234::/48"}}}"#
        }
        "alice-only" => {
            r#"
          {"Sid": "AliceUse", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"},
           "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*"}"#
        }
        // kms:CallerAccount lets the identities of listed accounts in, each through its own IAM policies
        // when it is not the key's account.
        "caller-account" => {
            r#"
          {"Sid": "AllowCallerAccounts", "Effect": "Allow", "Principal": {"AWS": "*"},
           "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
           "Resource": "*",
           "Condition": {"StringEquals": {"kms:CallerAccount": ["111122223333", "444455556666"]}}}"#
        }
        "expiring" => {
            r#"
          {"Sid": "Enable IAM policies", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
          {"Sid": "KeyExpired", "Effect": "Deny", "Principal": "*", "Action": "kms:*", "Resource": "*",
           "Condition": {"DateGreaterThan": {"aws:CurrentTime": "2030-01-01T00:00:00Z"}}}"#
        }
        other => panic!("no policy named {other}"),
    };
    if name == "console" {
        format!("{ROOT},{body}")
    } else {
        body.to_owned()
    }
}
