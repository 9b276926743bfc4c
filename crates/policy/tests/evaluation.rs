//! The evaluator against AWS's documented key policies and condition semantics, one row per
//! request: `policy | caller | action | condition keys | expected decision`.
//!
//! - policy: a name from `evaluation/policies.rs`;
//! - caller: an alias (`root`, `alice`, `bob`, `admin`, `user`, `ops`, `eve`), a principal ARN,
//!   or `svc:NAME` for a service principal;
//! - keys: `-` for none, else `key=v1,v2` pairs joined by `;` (`key=` is an empty list, `!key`
//!   removes a key the context derives from the caller, `@resource=ARN` changes the key ARN,
//!   which is otherwise `KEY`);
//! - expected: `A` allow (direct), `D` allow by account delegation, `X` explicit deny,
//!   `N` implicit deny; `A:Sid`, `D:Sid`, `X:Sid` also check the deciding statement.

#![cfg(test)]

#[path = "evaluation/policies.rs"]
mod policies;

use strongroom_policy::{
    Decision, PrincipalInfo, PrincipalMatch, RequestContext, evaluate, parse_key_policy,
};

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

const CASES: &str = r"
# The default key policy: the account root delegates to IAM; the root user itself is direct.
default | root  | kms:PutKeyPolicy | - | A:Enable IAM User Permissions
default | alice | kms:Encrypt | - | D:Enable IAM User Permissions
default | admin | kms:ScheduleKeyDeletion | - | D
default | eve   | kms:Decrypt | - | N
default | svc:cloudtrail.amazonaws.com | kms:GenerateDataKey | - | N
default | alice | s3:GetObject | - | N
default | alice | kms:Decrypt | @resource=arn:aws:kms:us-east-1:111122223333:key/other | D
default | arn:aws-cn:iam::111122223333:user/Alice | kms:Decrypt | - | N
# Key administrators vs key users (the console's default policy).
console | admin | kms:CreateAlias | - | A:Allow access for Key Administrators
console | admin | kms:PutKeyPolicy | - | A:Allow access for Key Administrators
console | admin | kms:Decrypt | - | D:Enable IAM policies
console | admin | kms:RotateKeyOnDemand | - | A
console | admin | kms:TagResource | - | A
console | admin | kms:Sign | - | D
console | user  | kms:Decrypt | - | A:Allow use of the key
console | user  | kms:ReEncryptFrom | - | A:Allow use of the key
console | user  | kms:GenerateDataKeyWithoutPlaintext | - | A
console | user  | kms:ScheduleKeyDeletion | - | D:Enable IAM policies
console | user  | kms:CreateGrant | kms:GrantIsForAWSResource=true | A:Allow attachment of persistent resources
console | user  | kms:CreateGrant | kms:GrantIsForAWSResource=TRUE | A:Allow attachment of persistent resources
console | user  | kms:CreateGrant | kms:GrantIsForAWSResource=false | D:Enable IAM policies
console | user  | kms:CreateGrant | - | D
console | arn:aws:iam::111122223333:role/KeyUser | kms:Encrypt | - | A:Allow use of the key
console | arn:aws:sts::111122223333:assumed-role/KeyUserX/s | kms:Encrypt | - | D
console | arn:aws:sts::444455556666:assumed-role/KeyUser/s | kms:Encrypt | - | N
console | eve   | kms:Encrypt | - | N
console | root  | kms:Decrypt | - | A:Enable IAM policies
# kms:EncryptionContext:<key>: values case-sensitive, key names not.
context-equals | alice | kms:Decrypt | kms:EncryptionContext:Department=IT | A:DeptIT
context-equals | alice | kms:Encrypt | kms:EncryptionContext:Department=Security | A:DeptIT
context-equals | alice | kms:Decrypt | kms:EncryptionContext:Department=it | N
context-equals | alice | kms:Decrypt | kms:EncryptionContext:Department=HR | N
context-equals | alice | kms:Decrypt | - | N
context-equals | alice | kms:Decrypt | kms:encryptioncontext:department=IT | A
context-equals | alice | kms:ReEncryptFrom | kms:EncryptionContext:Department=IT | N
context-equals | bob   | kms:Decrypt | kms:EncryptionContext:Department=IT | N
context-equals | alice | kms:Decrypt | kms:EncryptionContext:Department=HR,IT | A
context-equals | alice | kms:Decrypt | kms:EncryptionContext:Department=IT;kms:EncryptionContext:Project=X | A
# kms:EncryptionContextKeys with ForAnyValue / ForAllValues.
context-keys-any | alice | kms:GenerateDataKey | kms:EncryptionContextKeys=Department | A
context-keys-any | alice | kms:GenerateDataKey | kms:EncryptionContextKeys=Project,Other | A
context-keys-any | alice | kms:GenerateDataKey | kms:EncryptionContextKeys=Other | N
context-keys-any | alice | kms:GenerateDataKey | kms:EncryptionContextKeys= | N
context-keys-any | alice | kms:GenerateDataKey | - | N
context-keys-any | alice | kms:GenerateDataKey | kms:EncryptionContextKeys=department | N
context-keys-any | alice | kms:GenerateDataKey | kms:EncryptionContextKeys=Department,Project | A
context-keys-all | alice | kms:GenerateDataKey | kms:EncryptionContextKeys=Department | A
context-keys-all | alice | kms:GenerateDataKey | kms:EncryptionContextKeys=Department,Project | A
context-keys-all | alice | kms:GenerateDataKey | kms:EncryptionContextKeys=Department,Other | N
context-keys-all | alice | kms:GenerateDataKey | kms:EncryptionContextKeys= | A
context-keys-all | alice | kms:GenerateDataKey | - | A
context-keys-all | alice | kms:GenerateDataKey | kms:EncryptionContextKeys=Other | N
context-keys-all-required | alice | kms:GenerateDataKey | kms:EncryptionContextKeys=Department | A
context-keys-all-required | alice | kms:GenerateDataKey | - | N
context-keys-all-required | alice | kms:GenerateDataKey | kms:EncryptionContextKeys=Project,Other | N
context-keys-all-required | alice | kms:GenerateDataKey | kms:EncryptionContextKeys= | N
# StringLike wildcards and kms:CallerAccount.
context-like | alice | kms:Decrypt | kms:EncryptionContext:Project=Alpha-1-east | A
context-like | alice | kms:Decrypt | kms:EncryptionContext:Project=Alpha-12-east | N
context-like | alice | kms:Decrypt | kms:EncryptionContext:Project=Alpha-1- | A
context-like | alice | kms:Decrypt | kms:EncryptionContext:Project=alpha-1-x | N
context-like | eve   | kms:Decrypt | kms:EncryptionContext:Project=Alpha-1-x | N
context-like | alice | kms:Decrypt | - | N
context-like | alice | kms:Decrypt | !kms:CallerAccount;kms:EncryptionContext:Project=Alpha-1-x | N
# kms:ViaService, and a deny of direct use through Null.
via-service | alice | kms:Encrypt | kms:ViaService=ec2.us-east-1.amazonaws.com | A
via-service | alice | kms:Encrypt | kms:ViaService=ec2.us-west-2.amazonaws.com | N
via-service | alice | kms:Encrypt | - | N
via-service | alice | kms:Decrypt | - | X:NoDirectDecrypt
via-service | alice | kms:Decrypt | kms:ViaService=rds.us-east-1.amazonaws.com | A
via-service | eve   | kms:Decrypt | kms:ViaService=ec2.us-east-1.amazonaws.com | N
via-service | eve   | kms:Decrypt | - | X:NoDirectDecrypt
via-service | alice | kms:Decrypt | kms:ViaService= | X
# The provider-managed key policy (alias/aws/ec2).
managed-ec2 | alice | kms:Encrypt | kms:ViaService=ec2.us-east-1.amazonaws.com | A
managed-ec2 | alice | kms:Encrypt | kms:ViaService=ec2.us-west-2.amazonaws.com | N
managed-ec2 | alice | kms:Encrypt | - | N
managed-ec2 | alice | kms:DescribeKey | - | D:Allow direct access to key metadata to the account
managed-ec2 | alice | kms:GetKeyRotationStatus | - | D
managed-ec2 | alice | kms:ScheduleKeyDeletion | kms:ViaService=ec2.us-east-1.amazonaws.com | N
managed-ec2 | eve   | kms:Encrypt | kms:ViaService=ec2.us-east-1.amazonaws.com | N
managed-ec2 | alice | kms:ReEncryptTo | kms:ViaService=ec2.us-east-1.amazonaws.com | A
managed-ec2 | alice | kms:CreateGrant | kms:ViaService=ec2.us-east-1.amazonaws.com | A
managed-ec2 | alice | kms:Decrypt | kms:ViaService=EC2.us-east-1.amazonaws.com | N
# aws:SourceIp: a negated operator holds when the key is missing.
source-ip | alice | kms:Encrypt | aws:SourceIp=192.0.2.10;aws:ViaAWSService=false | D:Enable IAM policies
source-ip | alice | kms:Encrypt | aws:SourceIp=198.51.100.7;aws:ViaAWSService=false | X:DenyOutsideCorp
source-ip | alice | kms:Encrypt | aws:SourceIp=2001:db8::1;aws:ViaAWSService=false | D
source-ip | alice | kms:Encrypt | aws:SourceIp=2001:db9::1;aws:ViaAWSService=false | X
source-ip | alice | kms:Encrypt | aws:SourceIp=198.51.100.7;aws:ViaAWSService=true | D
source-ip | alice | kms:Encrypt | aws:ViaAWSService=false | X:DenyOutsideCorp
source-ip | alice | kms:Encrypt | - | D
source-ip | root  | kms:Encrypt | aws:SourceIp=198.51.100.7;aws:ViaAWSService=false | X
source-ip | eve   | kms:Encrypt | aws:SourceIp=192.0.2.1;aws:ViaAWSService=false | N
source-ip | alice | kms:Encrypt | aws:SourceIp=192.0.2.255;aws:ViaAWSService=false | D
source-ip | alice | kms:Encrypt | aws:SourceIp=192.0.3.0;aws:ViaAWSService=false | X
# ABAC: aws:ResourceTag compared with ${aws:PrincipalTag/...}.
abac | alice | kms:Encrypt | aws:PrincipalTag/Project=Falcon;aws:ResourceTag/Project=Falcon | A:MatchingProject
abac | alice | kms:Decrypt | aws:PrincipalTag/Project=Falcon;aws:ResourceTag/Project=Eagle | N
abac | alice | kms:Decrypt | aws:ResourceTag/Project=Falcon | N
abac | alice | kms:Decrypt | - | N
abac | alice | kms:Decrypt | aws:PrincipalTag/Project=Falcon,Eagle;aws:ResourceTag/Project=Falcon | N
abac | eve   | kms:Decrypt | aws:PrincipalTag/Project=Falcon;aws:ResourceTag/Project=Falcon | N
abac | alice | kms:Decrypt | aws:principaltag/project=Falcon;aws:RESOURCETAG/Project=Falcon | A
abac | alice | kms:Decrypt | aws:PrincipalTag/Project=Falcon;aws:ResourceTag/Project=falcon | N
abac | alice | kms:Sign | aws:PrincipalTag/Project=Falcon;aws:ResourceTag/Project=Falcon | N
resource-tag | user | kms:Decrypt | aws:ResourceTag/Env=prod | A
resource-tag | user | kms:Decrypt | aws:ResourceTag/Env=PROD | A
resource-tag | user | kms:Decrypt | aws:ResourceTag/Env=dev | N
resource-tag | user | kms:Decrypt | - | N
resource-tag | user | kms:UntagResource | aws:ResourceTag/Env=prod;aws:TagKeys=Env | X:NoUntagProd
resource-tag | user | kms:UntagResource | aws:ResourceTag/Env=prod;aws:TagKeys=OwnerEmail | X
resource-tag | user | kms:UntagResource | aws:ResourceTag/Env=prod;aws:TagKeys=CostCenter | A
resource-tag | user | kms:UntagResource | aws:ResourceTag/Env=prod;aws:TagKeys=CostCenter,Env | X
resource-tag | alice | kms:Decrypt | aws:ResourceTag/Env=prod | N
# NotPrincipal: the deny reaches everyone not listed, the account root included.
not-principal | alice | kms:PutKeyPolicy | - | X:OnlyAdminsManage
not-principal | bob   | kms:PutKeyPolicy | - | D:Enable IAM policies
not-principal | admin | kms:PutKeyPolicy | - | D
not-principal | alice | kms:Encrypt | - | D
not-principal | root  | kms:PutKeyPolicy | - | X
not-principal | eve   | kms:PutKeyPolicy | - | X
not-principal | eve   | kms:Encrypt | - | N
not-principal | svc:cloudtrail.amazonaws.com | kms:ScheduleKeyDeletion | - | X
# NotAction: everything else, other services' actions included.
not-action | alice | kms:Encrypt | - | A:AllButDestroy
not-action | alice | kms:ScheduleKeyDeletion | - | N
not-action | alice | kms:DisableKey | - | N
not-action | alice | kms:DisableKeyRotation | - | N
not-action | alice | kms:EnableKey | - | A
not-action | alice | kms:putkeypolicy | - | N
not-action | bob   | kms:Encrypt | - | N
not-action | alice | s3:GetObject | - | A
# An explicit deny beats any allow, whoever it names.
deny-wins | alice | kms:Encrypt | - | A:AliceAll
deny-wins | alice | kms:Decrypt | - | X:NoDecrypt
deny-wins | alice | kms:ScheduleKeyDeletion | - | X:AccountNoDelete
deny-wins | bob   | kms:ScheduleKeyDeletion | - | X:AccountNoDelete
deny-wins | bob   | kms:Encrypt | - | N
deny-wins | root  | kms:ScheduleKeyDeletion | - | X
deny-wins | eve   | kms:ScheduleKeyDeletion | - | N
deny-wins | alice | kms:decrypt | - | X:NoDecrypt
# ...IfExists: true when the key is absent, checked when present.
if-exists | alice | kms:Encrypt | - | A
if-exists | alice | kms:Encrypt | kms:EncryptionAlgorithm=SYMMETRIC_DEFAULT | A
if-exists | alice | kms:Encrypt | kms:EncryptionAlgorithm=RSAES_OAEP_SHA_256 | N
if-exists | alice | kms:Decrypt | aws:MultiFactorAuthAge=100 | A
if-exists | alice | kms:Decrypt | aws:MultiFactorAuthAge=7200 | N
if-exists | alice | kms:Decrypt | aws:MultiFactorAuthAge=abc | N
if-exists | alice | kms:Decrypt | aws:MultiFactorAuthAge=3600 | N
# Null: presence only.
null | alice | kms:Encrypt | kms:EncryptionContextKeys=Dept | A
null | alice | kms:Encrypt | - | X:RequireContext
null | alice | kms:GenerateDataKeyPair | - | X:RequireContext
null | alice | kms:Decrypt | - | A
null | bob   | kms:Encrypt | - | X
null | bob   | kms:Encrypt | kms:EncryptionContextKeys=Dept | N
# Date windows: ISO 8601 with zones, and epoch seconds.
dates | alice | kms:Decrypt | aws:CurrentTime=2024-06-01T12:00:00Z | A:Window
dates | alice | kms:Decrypt | aws:CurrentTime=2025-01-01T00:00:00Z | N
dates | alice | kms:Decrypt | aws:CurrentTime=2024-01-01T00:00:00Z | A
dates | alice | kms:Decrypt | aws:CurrentTime=2023-12-31T23:59:59Z | N
dates | alice | kms:Decrypt | aws:CurrentTime=2024-01-01T01:00:00+01:00 | A
dates | alice | kms:Decrypt | aws:CurrentTime=2023-12-31T23:30:00-01:00 | A
dates | alice | kms:Decrypt | aws:CurrentTime=1717243200 | A
dates | alice | kms:Decrypt | - | N
dates | bob   | kms:Decrypt | aws:EpochTime=1717200000 | N
dates | bob   | kms:Decrypt | aws:EpochTime=1717200001 | A:EpochWindow
dates | bob   | kms:Decrypt | aws:EpochTime=1735689600 | A
dates | bob   | kms:Decrypt | aws:EpochTime=1735689601 | N
dates | bob   | kms:Decrypt | - | N
dates | bob   | kms:Decrypt | aws:EpochTime=not-a-date | N
# Numeric limits.
numeric | alice | kms:Decrypt | aws:MultiFactorAuthAge=0 | A:MfaRecent
numeric | alice | kms:Decrypt | aws:MultiFactorAuthAge=3599.5 | A
numeric | alice | kms:Decrypt | aws:MultiFactorAuthAge=3600 | N
numeric | alice | kms:Decrypt | - | N
numeric | alice | kms:ScheduleKeyDeletion | kms:ScheduleKeyDeletionPendingWindowInDays=30 | A:LongWindow
numeric | alice | kms:ScheduleKeyDeletion | kms:ScheduleKeyDeletionPendingWindowInDays=7 | N
numeric | alice | kms:ScheduleKeyDeletion | kms:ScheduleKeyDeletionPendingWindowInDays=31 | N
numeric | alice | kms:ScheduleKeyDeletion | kms:ScheduleKeyDeletionPendingWindowInDays=32.5 | N
numeric | alice | kms:ScheduleKeyDeletion | kms:ScheduleKeyDeletionPendingWindowInDays=32 | A
numeric | alice | kms:ScheduleKeyDeletion | - | N
numeric | alice | kms:ScheduleKeyDeletion | kms:ScheduleKeyDeletionPendingWindowInDays=-1 | N
# Policy variables in condition values and resources; substituted text is literal.
variables | alice | kms:Decrypt | kms:EncryptionContext:Owner=Alice | A:OwnData
variables | alice | kms:Decrypt | kms:EncryptionContext:Owner=Bob | N
variables | bob   | kms:Decrypt | kms:EncryptionContext:Owner=Bob | A
variables | alice | kms:Decrypt | kms:EncryptionContext:Owner=Alice;@resource=arn:aws:kms:us-east-1:444455556666:key/x | N
variables | admin | kms:Decrypt | kms:EncryptionContext:Owner=Alice | N
variables | alice | kms:Encrypt | aws:PrincipalTag/Team=blue;@resource=arn:aws:kms:us-east-1:111122223333:key/blue-1 | A:TeamKeys
variables | alice | kms:Encrypt | aws:PrincipalTag/Team=blue;@resource=arn:aws:kms:us-east-1:111122223333:key/red-1 | N
variables | alice | kms:Encrypt | @resource=arn:aws:kms:us-east-1:111122223333:key/none-1 | A
variables | alice | kms:Encrypt | aws:PrincipalTag/Team=bl*;@resource=arn:aws:kms:us-east-1:111122223333:key/blue-1 | N
variables | alice | kms:Encrypt | aws:PrincipalTag/Team=bl*;@resource=arn:aws:kms:us-east-1:111122223333:key/bl*-1 | A
variables | alice | kms:Sign | kms:EncryptionContext:Tag=*x? | A:Literal
variables | alice | kms:Sign | kms:EncryptionContext:Tag=axb | N
v2008 | alice | kms:Decrypt | @resource=arn:aws:kms:us-east-1:111122223333:key/${aws:username} | A
v2008 | alice | kms:Decrypt | @resource=arn:aws:kms:us-east-1:111122223333:key/Alice | N
# kms:GrantOperations (ForAllValues is vacuously true on an empty set) and kms:GrantIsForAWSResource.
grants | user | kms:CreateGrant | kms:GrantOperations=Decrypt;kms:GrantIsForAWSResource=true | A:ServiceGrants
grants | user | kms:CreateGrant | kms:GrantOperations=Decrypt,GenerateDataKeyWithoutPlaintext;kms:GrantIsForAWSResource=true | A
grants | user | kms:CreateGrant | kms:GrantOperations=Decrypt,Encrypt;kms:GrantIsForAWSResource=true | N
grants | user | kms:CreateGrant | kms:GrantOperations=Decrypt,RetireGrant;kms:GrantIsForAWSResource=true | X:NoRetiring
grants | user | kms:CreateGrant | kms:GrantOperations=Decrypt;kms:GrantIsForAWSResource=false | N
grants | user | kms:CreateGrant | kms:GrantOperations=;kms:GrantIsForAWSResource=true | A
grants | alice | kms:CreateGrant | kms:GrantOperations=Decrypt;kms:GrantIsForAWSResource=true | N
grants | user | kms:CreateGrant | kms:GrantOperations=CreateGrant | X
# ArnLike / ArnNotEquals on aws:PrincipalArn (a role session is its role).
arns | ops   | kms:Decrypt | - | A:OpsRoles
arns | alice | kms:Decrypt | - | N
arns | bob   | kms:Decrypt | - | X:NotContractors
arns | arn:aws:sts::111122223333:assumed-role/OpsAudit/x | kms:Decrypt | - | A
arns | arn:aws:sts::111122223333:assumed-role/Ops/x | kms:Decrypt | - | A
arns | eve   | kms:Decrypt | - | X
arns | ops   | kms:Encrypt | - | N
arns | svc:cloudtrail.amazonaws.com | kms:Decrypt | - | X
# Cross-account: a bare account id delegates; a named role does not.
cross-account | eve | kms:Encrypt | - | D:External
cross-account | arn:aws:sts::444455556666:assumed-role/Partner/s | kms:Encrypt | - | A:External
cross-account | eve | kms:ScheduleKeyDeletion | - | N
cross-account | arn:aws:iam::444455556666:root | kms:Decrypt | - | A:External
cross-account | alice | kms:Encrypt | - | D:Enable IAM policies
cross-account | arn:aws:iam::777788889999:user/X | kms:Encrypt | - | N
# Wildcards in actions (case-insensitive) and resources (per ARN part); NotResource.
wildcards | alice | kms:GetKeyPolicy | - | A
wildcards | alice | kms:ListGrants | - | A
wildcards | alice | kms:DescribeKey | - | A
wildcards | alice | kms:DescribeKeys | - | N
wildcards | alice | kms:Encrypt | - | N
wildcards | alice | kms:GetPublicKey | @resource=arn:aws:kms:eu-west-1:111122223333:key/k | A
wildcards | alice | kms:GetPublicKey | @resource=arn:aws:kms:us-west-2:444455556666:key/abcd | A
wildcards | alice | kms:GetPublicKey | @resource=arn:aws:kms:us-west-2:444455556666:key/abcde | N
wildcards | alice | kms:GetPublicKey | @resource=arn:aws:kms:us-east-1:111122223333:alias/k | N
wildcards | bob   | kms:Decrypt | - | A
wildcards | bob   | kms:Decrypt | @resource=arn:aws:kms:us-east-1:111122223333:key/secret-1 | N
wildcards | bob   | kms:Decrypt | @resource=arn:aws:kms:eu-west-1:111122223333:key/secret-x | N
wildcards | bob   | kms:Decrypt | @resource=arn:aws:kms:us-east-1:444455556666:key/secret-1 | A
# Service principals.
service | svc:cloudtrail.amazonaws.com | kms:GenerateDataKey | kms:EncryptionContext:aws:cloudtrail:arn=arn:aws:cloudtrail:us-east-1:111122223333:trail/main;aws:SourceAccount=111122223333 | A:CloudTrail
service | svc:cloudtrail.amazonaws.com | kms:GenerateDataKey | kms:EncryptionContext:aws:cloudtrail:arn=arn:aws:cloudtrail:us-east-1:111122223333:trail/main;aws:SourceAccount=444455556666 | N
service | svc:cloudtrail.amazonaws.com | kms:GenerateDataKey | kms:EncryptionContext:aws:cloudtrail:arn=arn:aws:cloudtrail:us-east-1:444455556666:trail/main;aws:SourceAccount=111122223333 | N
service | svc:config.amazonaws.com | kms:GenerateDataKey | kms:EncryptionContext:aws:cloudtrail:arn=arn:aws:cloudtrail:us-east-1:111122223333:trail/main;aws:SourceAccount=111122223333 | N
service | alice | kms:GenerateDataKey | kms:EncryptionContext:aws:cloudtrail:arn=arn:aws:cloudtrail:us-east-1:111122223333:trail/main;aws:SourceAccount=111122223333 | N
service | svc:cloudtrail.amazonaws.com | kms:Decrypt | kms:EncryptionContext:aws:cloudtrail:arn=arn:aws:cloudtrail:us-east-1:111122223333:trail/main;aws:SourceAccount=111122223333 | N
service | svc:cloudtrail.amazonaws.com | kms:GenerateDataKeyWithoutPlaintext | kms:EncryptionContext:aws:cloudtrail:arn=arn:aws:cloudtrail:eu-west-1:111122223333:trail/t;aws:SourceAccount=111122223333 | A
# BinaryEquals, StringNotLike, ForAnyValue with a negated operator, IPv6 CIDR.
operators | alice | kms:Encrypt | aws:Blob=QmluYXJ5VmFsdWU= | A:Binary
operators | alice | kms:Encrypt | aws:Blob=QmluYXJ5VmFsdWF= | N
operators | alice | kms:Decrypt | kms:EncryptionContext:Stage=prod | A:NotLike
operators | alice | kms:Decrypt | kms:EncryptionContext:Stage=test-1 | N
operators | alice | kms:Decrypt | kms:EncryptionContext:Stage=dev | N
operators | alice | kms:Decrypt | - | A:NotLike
operators | alice | kms:Decrypt | kms:EncryptionContext:Stage=Test | A
operators | alice | kms:Sign | aws:TagKeys=Owner | N
operators | alice | kms:Sign | aws:TagKeys=Owner,Project | A:NotEqualsAny
operators | alice | kms:Sign | aws:TagKeys= | N
operators | alice | kms:Verify | aws:SourceIp=2001:db8:1234:ffff::1 | A:V6
operators | alice | kms:Verify | aws:SourceIp=2001:db8:1235::1 | N
operators | alice | kms:Verify | aws:SourceIp=192.0.2.1 | N
operators | alice | kms:Verify | - | N
";

fn caller(alias: &str) -> PrincipalInfo {
    let arn = match alias {
        "root" => "arn:aws:iam::111122223333:root",
        "alice" => "arn:aws:iam::111122223333:user/Alice",
        "bob" => "arn:aws:iam::111122223333:user/Bob",
        "admin" => "arn:aws:sts::111122223333:assumed-role/KeyAdmin/s1",
        "user" => "arn:aws:sts::111122223333:assumed-role/KeyUser/s1",
        "ops" => "arn:aws:sts::111122223333:assumed-role/OpsDeploy/s1",
        "eve" => "arn:aws:iam::444455556666:user/Eve",
        other => match other.strip_prefix("svc:") {
            Some(service) => return PrincipalInfo::Service(service.to_owned()),
            None => other,
        },
    };
    PrincipalInfo::from_arn(arn)
}

fn context(caller_alias: &str, action: &str, keys: &str) -> RequestContext {
    let mut ctx = RequestContext::new(caller(caller_alias), action, KEY);
    for pair in keys.split(';').filter(|p| *p != "-") {
        if let Some(key) = pair.strip_prefix('!') {
            ctx.remove(key);
            continue;
        }
        let (key, values) = pair
            .split_once('=')
            .unwrap_or_else(|| panic!("bad pair {pair}"));
        if key == "@resource" {
            ctx.set_resource(values.to_owned());
            continue;
        }
        ctx.insert(key, values.split(',').filter(|v| !v.is_empty()));
    }
    ctx
}

/// Whether `decision` is what the table's `expected` column says.
fn expected(decision: &Decision, expected: &str) -> bool {
    let (kind, sid) = match expected.split_once(':') {
        Some((kind, sid)) => (kind, Some(sid)),
        None => (expected, None),
    };
    let sid_ok = |actual: &Option<String>| sid.is_none() || actual.as_deref() == sid;
    match (kind, decision) {
        ("N", Decision::ImplicitDeny) => true,
        ("X", Decision::ExplicitDeny { sid }) => sid_ok(sid),
        (
            "A",
            Decision::Allow {
                sid,
                principal: PrincipalMatch::Direct,
            },
        ) => sid_ok(sid),
        (
            "D",
            Decision::Allow {
                sid,
                principal: PrincipalMatch::AccountDelegation,
            },
        ) => sid_ok(sid),
        _ => false,
    }
}

#[test]
fn documented_policies_decide_as_aws_does() {
    let mut failures = Vec::new();
    let mut count = 0;
    for line in CASES.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split(" | ").map(str::trim).collect();
        let [name, who, action, keys, want] = cols.as_slice() else {
            panic!("malformed row: {line}");
        };
        let text = policies::policy(name);
        let policy = parse_key_policy(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        let decision = evaluate(&policy, &context(who, action, keys));
        if !expected(&decision, want) {
            failures.push(format!("{line}\n    got {decision:?}"));
        }
        count += 1;
    }
    assert!(
        failures.is_empty(),
        "{} of {count} rows failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(count >= 150, "only {count} rows");
}
