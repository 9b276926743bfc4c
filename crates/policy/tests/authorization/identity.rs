//! The identity and trust policies of the authorization table, by name: shapes from AWS's
//! documented IAM policy examples for KMS (KMS developer guide, "IAM policy examples"; IAM user
//! guide), trimmed to what each row exercises. Account 111122223333 owns the key and the role
//! `Ops`; 444455556666 is the partner account; 777788889999 is a stranger.

/// The identity policy named `name`, as text.
pub(crate) fn identity(name: &str) -> String {
    let statements = match name {
        "KmsUseAll" => {
            r#"{"Sid": "UseKeysInAccount", "Effect": "Allow",
                "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
                "Resource": "arn:aws:kms:*:111122223333:key/*"}"#
        }
        "KmsAdmin" => r#"{"Sid": "AllKms", "Effect": "Allow", "Action": "kms:*", "Resource": "*"}"#,
        "DenyDeletion" => {
            r#"{"Sid": "NoDelete", "Effect": "Deny", "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey"], "Resource": "*"}"#
        }
        "DenyAllKms" => r#"{"Sid": "NoKms", "Effect": "Deny", "Action": "kms:*", "Resource": "*"}"#,
        "OneKey" => {
            r#"{"Sid": "DecryptOneKey", "Effect": "Allow", "Action": "kms:Decrypt",
                "Resource": "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab"}"#
        }
        "OtherKey" => {
            r#"{"Sid": "DecryptOtherKey", "Effect": "Allow", "Action": "kms:Decrypt",
                "Resource": "arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321"}"#
        }
        "ExternalUse" => {
            r#"{"Sid": "UsePartnerKeys", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:DescribeKey"],
                "Resource": "arn:aws:kms:us-east-1:111122223333:key/*"}"#
        }
        "OwnAccountKeys" => {
            r#"{"Sid": "UseOwnKeys", "Effect": "Allow", "Action": "kms:*", "Resource": "arn:aws:kms:*:444455556666:key/*"}"#
        }
        "CreateKeys" => {
            r#"{"Sid": "AccountLevel", "Effect": "Allow",
                "Action": ["kms:CreateKey", "kms:ListKeys", "kms:ListAliases", "kms:GenerateRandom"], "Resource": "*"}"#
        }
        "CreateTagged" => {
            r#"{"Sid": "CreateOwnKeys", "Effect": "Allow", "Action": ["kms:CreateKey", "kms:TagResource"], "Resource": "*",
                "Condition": {"StringEquals": {"aws:RequestTag/Owner": "${aws:username}"},
                              "ForAllValues:StringEquals": {"aws:TagKeys": ["Owner", "Project"]}}}"#
        }
        "ViaServiceOnly" => {
            r#"{"Sid": "ViaEc2Rds", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "arn:aws:kms:*:111122223333:key/*",
                "Condition": {"StringEquals": {"kms:ViaService": ["ec2.us-east-1.amazonaws.com", "rds.us-east-1.amazonaws.com"]}}}"#
        }
        "ContextOwner" => {
            r#"{"Sid": "OwnContext", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"],
                "Resource": "arn:aws:kms:*:111122223333:key/*",
                "Condition": {"StringEquals": {"kms:EncryptionContext:Owner": "${aws:username}"}}}"#
        }
        "ContextKeys" => {
            r#"{"Sid": "RequiredContextKeys", "Effect": "Allow", "Action": "kms:GenerateDataKey*", "Resource": "*",
                "Condition": {"ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["Department", "Project"]},
                              "Null": {"kms:EncryptionContextKeys": "false"}}}"#
        }
        "ContextAnyKey" => {
            r#"{"Sid": "SomeAppKey", "Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
                "Condition": {"ForAnyValue:StringLike": {"kms:EncryptionContextKeys": "App*"}}}"#
        }
        "AbacProject" => {
            r#"{"Sid": "MatchingProject", "Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt"],
                "Resource": "arn:aws:kms:*:*:key/*",
                "Condition": {"StringEquals": {"aws:ResourceTag/Project": "${aws:PrincipalTag/Project}"}}}"#
        }
        "ProtectProd" => {
            r#"{"Sid": "KeepProdKeys", "Effect": "Deny", "Action": ["kms:ScheduleKeyDeletion", "kms:DisableKey"], "Resource": "*",
                "Condition": {"StringEquals": {"aws:ResourceTag/Env": "prod"}}}"#
        }
        "CorpNetwork" => {
            r#"{"Sid": "DenyOutsideCorp", "Effect": "Deny", "Action": "*", "Resource": "*",
                "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "2001:db8::/32"]},
                              "Bool": {"aws:ViaAWSService": "false"}}}"#
        }
        "Window" => {
            r#"{"Sid": "Window", "Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
                "Condition": {"DateGreaterThanEquals": {"aws:CurrentTime": "2024-01-01T00:00:00Z"},
                              "DateLessThan": {"aws:CurrentTime": "2025-01-01T00:00:00Z"}}}"#
        }
        "RequireMfa" => {
            r#"{"Sid": "DenyWithoutMfa", "Effect": "Deny", "Action": ["kms:ScheduleKeyDeletion", "kms:PutKeyPolicy"], "Resource": "*",
                "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}}"#
        }
        "RequireContext" => {
            r#"{"Sid": "DenyNoContext", "Effect": "Deny", "Action": ["kms:Encrypt", "kms:GenerateDataKey*"], "Resource": "*",
                "Condition": {"Null": {"kms:EncryptionContextKeys": "true"}}}"#
        }
        "AlgorithmIfExists" => {
            r#"{"Sid": "SymmetricOnly", "Effect": "Allow", "Action": "kms:Encrypt", "Resource": "*",
                "Condition": {"StringEqualsIfExists": {"kms:EncryptionAlgorithm": "SYMMETRIC_DEFAULT"}}}"#
        }
        "GrantsForServices" => {
            r#"{"Sid": "ServiceGrants", "Effect": "Allow", "Action": "kms:CreateGrant", "Resource": "*",
                "Condition": {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt", "GenerateDataKey"]},
                              "Bool": {"kms:GrantIsForAWSResource": true}}}"#
        }
        "PowerUser" => {
            r#"{"Sid": "AllButIam", "Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}"#
        }
        "IamSelf" => {
            r#"{"Sid": "OwnUser", "Effect": "Allow", "Action": ["iam:ChangePassword", "iam:GetUser"],
                "Resource": "arn:aws:iam::*:user/${aws:username}"}"#
        }
        "UserKeys" => {
            r#"{"Sid": "UserNamedKeys", "Effect": "Allow", "Action": "kms:*",
                "Resource": "arn:aws:kms:us-east-1:111122223333:key/${aws:username}-*"}"#
        }
        "UserKeys2008" => {
            return r#"{"Version": "2008-10-17", "Statement": {"Sid": "UserNamedKeys", "Effect": "Allow", "Action": "kms:*",
                "Resource": "arn:aws:kms:us-east-1:111122223333:key/${aws:username}-*"}}"#
                .to_owned();
        }
        "OnlyOwnKeys" => {
            r#"{"Sid": "OnlyOwnAccountKeys", "Effect": "Deny", "Action": "kms:*",
                "NotResource": "arn:aws:kms:*:111122223333:key/*"}"#
        }
        "AssumeOps" => {
            r#"{"Sid": "AssumeOpsRoles", "Effect": "Allow", "Action": "sts:AssumeRole",
                "Resource": "arn:aws:iam::111122223333:role/Ops*"}"#
        }
        "AssumeAny" => {
            r#"{"Sid": "AssumeAnyRole", "Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}"#
        }
        "DenyAssume" => {
            r#"{"Sid": "NoRoles", "Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"}"#
        }
        "NoUntagOwner" => {
            r#"{"Sid": "KeepOwnerTag", "Effect": "Deny", "Action": "kms:UntagResource", "Resource": "*",
                "Condition": {"ForAnyValue:StringEquals": {"aws:TagKeys": "Owner"}}}"#
        }
        "MinWindow" => {
            r#"{"Sid": "AtLeastTwoWeeks", "Effect": "Deny", "Action": "kms:ScheduleKeyDeletion", "Resource": "*",
                "Condition": {"NumericLessThan": {"kms:ScheduleKeyDeletionPendingWindowInDays": 14}}}"#
        }
        other => panic!("no identity policy named {other}"),
    };
    format!(r#"{{"Version": "2012-10-17", "Statement": [{statements}]}}"#)
}

/// The trust policy named `name` (of the role `arn:aws:iam::111122223333:role/Ops`), as text.
pub(crate) fn trust(name: &str) -> String {
    let statements = match name {
        "trust-account" => {
            r#"{"Sid": "TrustAccount", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
                "Action": "sts:AssumeRole"}"#
        }
        "trust-alice" => {
            r#"{"Sid": "TrustAlice", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::111122223333:user/Alice"},
                "Action": "sts:AssumeRole"},
               {"Sid": "TrustEc2", "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"},
                "Action": "sts:AssumeRole"}"#
        }
        "trust-external" => {
            r#"{"Sid": "TrustPartner", "Effect": "Allow", "Principal": {"AWS": "444455556666"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"sts:ExternalId": "Unique42"}}}"#
        }
        other => panic!("no trust policy named {other}"),
    };
    format!(r#"{{"Version": "2012-10-17", "Statement": [{statements}]}}"#)
}
