//! Key policies in the shapes AWS documents for KMS: the default policy, the console's key
//! administrators / key users / grants statements, encryption context and other KMS condition
//! keys, service principals and cross-account access. Each must parse, into the expected model.

// Integration tests are always built with cfg(test); saying so lets clippy's test allowances
// (unwrap, expect, panic) cover the helper functions too, not only the #[test] functions.
#![cfg(test)]

use strongroom_policy::{
    ActionPattern, ActionSpec, AwsPrincipal, ConditionTest, ConditionValue, Effect, IamIdentity,
    Principal, PrincipalSpec, Principals, SetOperator, Statement, default_key_policy,
    parse_key_policy,
};

fn parse(text: &str) -> Vec<Statement> {
    match parse_key_policy(text) {
        Ok(policy) => policy.statements,
        Err(e) => panic!("documented policy refused: {e}"),
    }
}

fn aws_principals(statement: &Statement) -> Vec<&AwsPrincipal> {
    let PrincipalSpec::Principal(Principals::Listed(list)) = &statement.principal else {
        panic!("expected a listed Principal");
    };
    list.iter()
        .filter_map(|p| match p {
            Principal::Aws(aws) => Some(aws),
            _ => None,
        })
        .collect()
}

/// The console's default policy: account root, key administrators, key users, and grants for
/// AWS resources (KMS developer guide, "Example key policy").
const CONSOLE_POLICY: &str = r#"{
  "Version": "2012-10-17",
  "Id": "key-consolepolicy-2",
  "Statement": [
    {
      "Sid": "Enable IAM policies",
      "Effect": "Allow",
      "Principal": {"AWS": "arn:aws:iam::111122223333:root"},
      "Action": "kms:*",
      "Resource": "*"
    },
    {
      "Sid": "Allow access for Key Administrators",
      "Effect": "Allow",
      "Principal": {"AWS": [
        "arn:aws:iam::111122223333:user/KMSAdminUser",
        "arn:aws:iam::111122223333:role/KMSAdminRole"
      ]},
      "Action": [
        "kms:Create*", "kms:Describe*", "kms:Enable*", "kms:List*", "kms:Put*", "kms:Update*",
        "kms:Revoke*", "kms:Disable*", "kms:Get*", "kms:Delete*", "kms:TagResource",
        "kms:UntagResource", "kms:ScheduleKeyDeletion", "kms:CancelKeyDeletion"
      ],
      "Resource": "*"
    },
    {
      "Sid": "Allow use of the key",
      "Effect": "Allow",
      "Principal": {"AWS": [
        "arn:aws:iam::111122223333:user/ExampleUser",
        "arn:aws:iam::111122223333:role/ExampleRole",
        "arn:aws:iam::444455556666:root"
      ]},
      "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
      "Resource": "*"
    },
    {
      "Sid": "Allow attachment of persistent resources",
      "Effect": "Allow",
      "Principal": {"AWS": [
        "arn:aws:iam::111122223333:user/ExampleUser",
        "arn:aws:iam::111122223333:role/ExampleRole",
        "arn:aws:iam::444455556666:root"
      ]},
      "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
      "Resource": "*",
      "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}
    }
  ]
}"#;

#[test]
fn default_key_policy_parses() {
    let statements = parse(&default_key_policy("aws", "111122223333"));
    assert_eq!(statements.len(), 1);
    assert_eq!(
        statements[0].sid.as_deref(),
        Some("Enable IAM User Permissions")
    );
}

#[test]
fn console_policy_with_administrators_users_and_grants_parses() {
    let statements = parse(CONSOLE_POLICY);
    assert_eq!(statements.len(), 4);
    let Some(ActionSpec::Action(admin_actions)) = &statements[1].action else {
        panic!()
    };
    assert_eq!(admin_actions.len(), 14);
    assert_eq!(
        admin_actions[0],
        ActionPattern::Scoped {
            service: "kms".into(),
            action: "Create*".into()
        }
    );
    let users = aws_principals(&statements[2]);
    assert_eq!(users.len(), 3);
    assert!(
        matches!(users[2], AwsPrincipal::Arn(arn) if arn.account_id == "444455556666" && arn.identity == IamIdentity::Root)
    );
    let grant = &statements[3].conditions[0];
    assert_eq!(grant.operator.test, ConditionTest::Bool);
    assert_eq!(grant.key, "kms:GrantIsForAWSResource");
    assert_eq!(grant.values, vec![ConditionValue::String("true".into())]);
}

#[test]
fn put_key_policy_example_from_the_api_model_parses() {
    let text = r#"{
    "Version": "2012-10-17",
    "Id": "custom-policy-2016-12-07",
    "Statement": [
        {"Sid": "Enable IAM User Permissions", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "kms:*", "Resource": "*"},
        {"Sid": "Allow use of the key", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::111122223333:role/ExamplePowerUserRole"},
         "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"],
         "Resource": "*"},
        {"Sid": "Allow attachment of persistent resources", "Effect": "Allow",
         "Principal": {"AWS": "arn:aws:iam::111122223333:role/ExamplePowerUserRole"},
         "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"], "Resource": "*",
         "Condition": {"Bool": {"kms:GrantIsForAWSResource": true}}}
    ]
}
"#;
    let statements = parse(text);
    assert_eq!(
        statements[2].conditions[0].values,
        vec![ConditionValue::Bool(true)]
    );
}

#[test]
fn encryption_context_conditions_parse() {
    let text = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Require an exact encryption context", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:role/RoleForExampleApp"},
     "Action": ["kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*"], "Resource": "*",
     "Condition": {
       "StringEquals": {"kms:EncryptionContext:AppName": "ExampleApp", "kms:EncryptionContext:FilePath": "/var/opt/secrets/"},
       "ForAllValues:StringEquals": {"kms:EncryptionContextKeys": ["AppName", "FilePath"]}
     }},
    {"Sid": "Require some encryption context", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:role/RoleForExampleApp"},
     "Action": "kms:Decrypt", "Resource": "*",
     "Condition": {
       "Null": {"kms:EncryptionContextKeys": "false"},
       "ForAnyValue:StringLike": {"kms:EncryptionContextKeys": "Project*"},
       "StringEqualsIgnoreCase": {"kms:EncryptionContext:Department": "IT"}
     }}
  ]
}"#;
    let statements = parse(text);
    let exact = &statements[0].conditions;
    assert_eq!(exact.len(), 3);
    assert_eq!(exact[2].operator.set, Some(SetOperator::ForAllValues));
    assert_eq!(exact[2].values.len(), 2);
    let some = &statements[1].conditions;
    assert_eq!(some[0].operator.test, ConditionTest::Null);
    assert_eq!(some[1].operator.set, Some(SetOperator::ForAnyValue));
    assert_eq!(some[2].operator.test, ConditionTest::StringEqualsIgnoreCase);
}

#[test]
fn via_service_caller_account_and_grant_constraints_parse() {
    let text = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Allow use through EBS and RDS only", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:user/ExampleUser"},
     "Action": ["kms:Encrypt", "kms:Decrypt"], "Resource": "*",
     "Condition": {"StringEquals": {
        "kms:ViaService": ["ec2.us-west-2.amazonaws.com", "rds.us-west-2.amazonaws.com"],
        "kms:CallerAccount": "111122223333"}}},
    {"Sid": "Limit grant operations", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:iam::111122223333:role/KeyUsers"},
     "Action": "kms:CreateGrant", "Resource": "*",
     "Condition": {"ForAllValues:StringEquals": {"kms:GrantOperations": ["Decrypt", "Encrypt"]},
                   "StringLike": {"kms:GranteePrincipal": "arn:aws:iam::111122223333:role/*"}}},
    {"Sid": "Deny deletion windows under 30 days", "Effect": "Deny",
     "Principal": {"AWS": "*"}, "Action": "kms:ScheduleKeyDeletion", "Resource": "*",
     "Condition": {"NumericLessThan": {"kms:ScheduleKeyDeletionPendingWindowInDays": "30"}}}
  ]
}"#;
    let statements = parse(text);
    assert_eq!(statements[0].conditions[0].values.len(), 2);
    assert_eq!(statements[2].effect, Effect::Deny);
    assert_eq!(aws_principals(&statements[2]), vec![&AwsPrincipal::Anyone]);
}

#[test]
fn service_principal_with_source_conditions_parses() {
    let text = r#"{
  "Version": "2012-10-17",
  "Id": "Key policy created by CloudTrail",
  "Statement": [
    {"Sid": "Allow CloudTrail to encrypt logs", "Effect": "Allow",
     "Principal": {"Service": "cloudtrail.amazonaws.com"},
     "Action": "kms:GenerateDataKey*", "Resource": "*",
     "Condition": {
       "StringEquals": {"aws:SourceArn": "arn:aws:cloudtrail:us-east-1:111122223333:trail/TrailName"},
       "StringLike": {"kms:EncryptionContext:aws:cloudtrail:arn": "arn:aws:cloudtrail:*:111122223333:trail/*"}}},
    {"Sid": "Allow CloudWatch Logs", "Effect": "Allow",
     "Principal": {"Service": "logs.us-west-2.amazonaws.com"},
     "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
     "Resource": "*",
     "Condition": {"ArnLike": {"kms:EncryptionContext:aws:logs:arn": "arn:aws:logs:us-west-2:111122223333:*"}}}
  ]
}"#;
    let statements = parse(text);
    let PrincipalSpec::Principal(Principals::Listed(list)) = &statements[0].principal else {
        panic!()
    };
    assert_eq!(
        list[0],
        Principal::Service("cloudtrail.amazonaws.com".into())
    );
    assert_eq!(
        statements[1].conditions[0].operator.test,
        ConditionTest::ArnLike
    );
}

#[test]
fn network_time_and_tag_conditions_parse() {
    let text = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {"Sid": "Deny outside the corporate network", "Effect": "Deny",
     "Principal": "*", "Action": "kms:*", "Resource": "*",
     "Condition": {"NotIpAddress": {"aws:SourceIp": ["192.0.2.0/24", "203.0.113.0/24", "2001:DB8:1234:5678::/64"]},
                   "Bool": {"aws:ViaAWSService": "false"}}},
    {"Sid": "Temporary access", "Effect": "Allow",
     "Principal": {"AWS": "arn:aws:sts::111122223333:assumed-role/Auditor/session-1"},
     "Action": "kms:DescribeKey", "Resource": "*",
     "Condition": {"DateLessThan": {"aws:CurrentTime": "2030-12-31T23:59:59Z"},
                   "DateGreaterThanIfExists": {"aws:TokenIssueTime": "2024-01-01T00:00:00Z"}}},
    {"Sid": "ABAC", "Effect": "Allow",
     "Principal": {"AWS": "111122223333"}, "Action": ["kms:Decrypt"], "Resource": "*",
     "Condition": {"StringEquals": {"aws:ResourceTag/Project": "${aws:PrincipalTag/Project}"},
                   "StringLike": {"kms:RequestAlias": "alias/project-*"}}}
  ]
}"#;
    let statements = parse(text);
    assert_eq!(
        statements[0].principal,
        PrincipalSpec::Principal(Principals::Anyone)
    );
    assert!(statements[1].conditions[1].operator.if_exists);
    assert_eq!(
        aws_principals(&statements[2]),
        vec![&AwsPrincipal::Account("111122223333".into())]
    );
}

#[test]
fn key_policy_overview_example_with_spaces_in_sid_parses() {
    let text = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "Describe the policy statement",
      "Effect": "Allow",
      "Principal": {
        "AWS": "arn:aws:iam::111122223333:user/Alice"
      },
      "Action": "kms:DescribeKey",
      "Resource": "*",
      "Condition": {
        "StringEquals": {
          "kms:KeySpec": "SYMMETRIC_DEFAULT"
        }
      }
    }
  ]
}"#;
    let statements = parse(text);
    assert_eq!(
        statements[0].sid.as_deref(),
        Some("Describe the policy statement")
    );
}
