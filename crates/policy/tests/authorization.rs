//! `authorize` against AWS's documented evaluation logic for KMS, one row per request:
//! `resource policy | identity policies | caller | action | condition keys | expected`.
//!
//! - resource policy: a key policy from `evaluation/policies.rs`, `trust:NAME` for a trust
//!   policy from `authorization/identity.rs` (the role `arn:aws:iam::111122223333:role/Ops`), or
//!   `-` for an action no resource policy governs;
//! - identity policies: `-`, or names from `authorization/identity.rs` joined by `,`;
//! - caller: an alias (`root`, `alice`, `bob`, `admin`, `user`, `ops` in 111122223333; `eve`,
//!   `eroot`, `partner` in 444455556666; `mallory` in 777788889999), a principal ARN, or
//!   `svc:NAME` for a service principal;
//! - keys: `-` for none, else `key=v1,v2` pairs joined by `;` (`key=` is an empty list,
//!   `@resource=ARN` changes the resource). The resource is the key `KEY` for a key policy, the
//!   role for a trust policy, `*` without a resource policy; the resource account is the
//!   resource ARN's account field (none for `*`);
//! - expected: `allow SOURCE [+ SOURCE]` where a source is `kp` / `kp:Sid` (resource policy),
//!   `id:Name` / `id:Name/Sid` (identity policy) or `root`; or `deny explicit kp[:Sid]`,
//!   `deny explicit id:Name[/Sid]`, `deny no-identity`, `deny no-resource`.

#![cfg(test)]

#[path = "evaluation/policies.rs"]
mod policies;

#[path = "authorization/identity.rs"]
mod identity;

use strongroom_policy::{
    Authorization, AuthorizationInput, Denial, Policy, PrincipalInfo, ROLE_POLICY_MAX_CHARS,
    RequestContext, Source, authorize, parse_identity_policy, parse_key_policy, parse_trust_policy,
};

const KEY: &str = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const ROLE: &str = "arn:aws:iam::111122223333:role/Ops";
const OTHER_ACCOUNT_KEY: &str = "arn:aws:kms:us-east-1:444455556666:key/x";

const CASES: &str = r#"
# Same account, default key policy: the account delegates, so an IAM policy must allow.
default | - | alice | kms:Encrypt | - | deny no-identity
default | KmsUseAll | alice | kms:Encrypt | - | allow kp:Enable IAM User Permissions + id:KmsUseAll/UseKeysInAccount
default | KmsUseAll | alice | kms:ScheduleKeyDeletion | - | deny no-identity
default | KmsAdmin | alice | kms:ScheduleKeyDeletion | - | allow kp + id:KmsAdmin/AllKms
default | KmsAdmin,DenyDeletion | alice | kms:ScheduleKeyDeletion | - | deny explicit id:DenyDeletion/NoDelete
default | DenyDeletion,KmsAdmin | alice | kms:DisableKey | - | deny explicit id:DenyDeletion/NoDelete
default | DenyDeletion,KmsAdmin | alice | kms:Encrypt | - | allow kp + id:KmsAdmin/AllKms
default | - | root | kms:ScheduleKeyDeletion | - | allow kp:Enable IAM User Permissions
default | - | root | kms:PutKeyPolicy | - | allow kp
default | OneKey | alice | kms:Decrypt | - | allow kp + id:OneKey/DecryptOneKey
default | OneKey | alice | kms:Encrypt | - | deny no-identity
default | OtherKey | alice | kms:Decrypt | - | deny no-identity
default | OtherKey,OneKey | alice | kms:Decrypt | - | allow kp + id:OneKey/DecryptOneKey
default | OneKey | alice | kms:Decrypt | @resource=arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321 | deny no-identity
default | OtherKey | alice | kms:Decrypt | @resource=arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321 | allow kp + id:OtherKey
default | KmsUseAll | alice | kms:Decrypt | @resource=arn:aws:kms:eu-west-1:111122223333:key/k2 | allow kp + id:KmsUseAll
default | KmsUseAll | ops | kms:GenerateDataKeyWithoutPlaintext | - | allow kp + id:KmsUseAll/UseKeysInAccount
default | KmsUseAll | bob | kms:ReEncryptFrom | - | allow kp + id:KmsUseAll
default | KmsUseAll | svc:cloudtrail.amazonaws.com | kms:Encrypt | - | deny no-resource
default | KmsAdmin | alice | s3:GetObject | - | deny no-resource
default | PowerUser | alice | kms:CreateAlias | - | allow kp + id:PowerUser/AllButIam
default | OwnAccountKeys | alice | kms:Encrypt | - | deny no-identity
# The root user of another account is not the key's account: the default policy does not name it.
default | KmsUseAll | eve | kms:Encrypt | - | deny no-resource
default | - | eroot | kms:Encrypt | - | deny no-resource
default | KmsAdmin | mallory | kms:Decrypt | - | deny no-resource
# A key in another account whose policy delegates to the caller's account: both sides allow.
default | KmsAdmin | alice | kms:Encrypt | @resource=arn:aws:kms:us-east-1:444455556666:key/x | allow kp + id:KmsAdmin
default | KmsUseAll | alice | kms:Encrypt | @resource=arn:aws:kms:us-east-1:444455556666:key/x | deny no-identity
default | KmsAdmin,OnlyOwnKeys | alice | kms:Encrypt | @resource=arn:aws:kms:us-east-1:444455556666:key/x | deny explicit id:OnlyOwnKeys/OnlyOwnAccountKeys
default | KmsAdmin,OnlyOwnKeys | alice | kms:Encrypt | - | allow kp + id:KmsAdmin
# Key administrators and key users named in the key policy need no IAM policy.
console | - | user | kms:Decrypt | - | allow kp:Allow use of the key
console | - | user | kms:GenerateDataKey | - | allow kp:Allow use of the key
console | - | arn:aws:sts::111122223333:assumed-role/KeyUser/other-session | kms:Encrypt | - | allow kp:Allow use of the key
console | - | arn:aws:iam::111122223333:role/KeyUser | kms:DescribeKey | - | allow kp:Allow use of the key
console | - | user | kms:ScheduleKeyDeletion | - | deny no-identity
console | KmsAdmin | user | kms:ScheduleKeyDeletion | - | allow kp:Enable IAM policies + id:KmsAdmin/AllKms
console | - | admin | kms:ScheduleKeyDeletion | - | allow kp:Allow access for Key Administrators
console | - | admin | kms:PutKeyPolicy | - | allow kp:Allow access for Key Administrators
console | DenyDeletion | admin | kms:ScheduleKeyDeletion | - | deny explicit id:DenyDeletion/NoDelete
console | DenyAllKms | user | kms:Decrypt | - | deny explicit id:DenyAllKms/NoKms
console | - | admin | kms:Decrypt | - | deny no-identity
console | KmsUseAll | admin | kms:Decrypt | - | allow kp:Enable IAM policies + id:KmsUseAll/UseKeysInAccount
console | - | root | kms:Decrypt | - | allow kp:Enable IAM policies
console | - | alice | kms:Decrypt | - | deny no-identity
console | - | user | kms:CreateGrant | kms:GrantIsForAWSResource=true | allow kp:Allow attachment of persistent resources
console | - | user | kms:CreateGrant | kms:GrantIsForAWSResource=false | deny no-identity
console | - | user | kms:ListGrants | kms:GrantIsForAWSResource=true | allow kp:Allow attachment of persistent resources
# kms:GrantOperations and kms:GrantIsForAWSResource in an IAM policy.
console | GrantsForServices | alice | kms:CreateGrant | kms:GrantIsForAWSResource=true;kms:GrantOperations=Decrypt | allow kp:Enable IAM policies + id:GrantsForServices/ServiceGrants
console | GrantsForServices | alice | kms:CreateGrant | kms:GrantIsForAWSResource=true;kms:GrantOperations=Decrypt,GenerateDataKey | allow kp + id:GrantsForServices
console | GrantsForServices | alice | kms:CreateGrant | kms:GrantIsForAWSResource=true;kms:GrantOperations=Decrypt,Encrypt | deny no-identity
console | GrantsForServices | alice | kms:CreateGrant | kms:GrantIsForAWSResource=true;kms:GrantOperations= | allow kp + id:GrantsForServices
console | GrantsForServices | alice | kms:CreateGrant | kms:GrantIsForAWSResource=false;kms:GrantOperations=Decrypt | deny no-identity
console | GrantsForServices | alice | kms:CreateGrant | kms:GrantOperations=Decrypt | deny no-identity
# Cross-account: the key policy names the partner account and a partner role; the partner's
# IAM policies must allow too, except for the partner's root user.
cross-account | - | eve | kms:Encrypt | - | deny no-identity
cross-account | ExternalUse | eve | kms:Encrypt | - | allow kp:External + id:ExternalUse/UsePartnerKeys
cross-account | ExternalUse | eve | kms:DescribeKey | - | allow kp:External + id:ExternalUse
cross-account | ExternalUse | eve | kms:ScheduleKeyDeletion | - | deny no-resource
cross-account | KmsAdmin | eve | kms:ScheduleKeyDeletion | - | deny no-resource
cross-account | KmsAdmin | eve | kms:Decrypt | - | allow kp:External + id:KmsAdmin/AllKms
cross-account | OwnAccountKeys | eve | kms:Decrypt | - | deny no-identity
cross-account | - | partner | kms:Encrypt | - | deny no-identity
cross-account | ExternalUse | partner | kms:Decrypt | - | allow kp:External + id:ExternalUse
cross-account | - | eroot | kms:Decrypt | - | allow kp:External + root
cross-account | - | eroot | kms:ScheduleKeyDeletion | - | deny no-resource
cross-account | ExternalUse | mallory | kms:Encrypt | - | deny no-resource
cross-account | ExternalUse,DenyDeletion | eve | kms:Decrypt | - | allow kp:External + id:ExternalUse
cross-account | ExternalUse,DenyAllKms | eve | kms:Decrypt | - | deny explicit id:DenyAllKms/NoKms
cross-account | ExternalUse | eve | kms:Encrypt | @resource=arn:aws:kms:us-east-1:111122223333:key/0987dcba-09fe-87dc-65ba-ab0987654321 | allow kp:External + id:ExternalUse
cross-account | ExternalUse | eve | kms:Encrypt | @resource=arn:aws:kms:eu-west-1:111122223333:key/k | deny no-identity
cross-account | - | alice | kms:Encrypt | - | deny no-identity
cross-account | KmsUseAll | alice | kms:Encrypt | - | allow kp:Enable IAM policies + id:KmsUseAll
cross-account | AbacProject | eve | kms:Encrypt | aws:PrincipalTag/Project=Falcon;aws:ResourceTag/Project=Falcon | allow kp:External + id:AbacProject/MatchingProject
# A key policy that names users directly and does not delegate: IAM policies cannot add access,
# not even for the account's root user.
alice-only | - | alice | kms:Encrypt | - | allow kp:AliceUse
alice-only | KmsAdmin | alice | kms:Decrypt | - | allow kp:AliceUse
alice-only | KmsAdmin | bob | kms:Encrypt | - | deny no-resource
alice-only | KmsAdmin | alice | kms:ScheduleKeyDeletion | - | deny no-resource
alice-only | - | root | kms:Encrypt | - | deny no-resource
alice-only | DenyAllKms | alice | kms:Encrypt | - | deny explicit id:DenyAllKms/NoKms
alice-only | KmsAdmin | ops | kms:Decrypt | - | deny no-resource
alice-only | ExternalUse | eve | kms:Decrypt | - | deny no-resource
# An explicit deny in the key policy beats every allow, in any policy.
deny-wins | KmsAdmin | alice | kms:Decrypt | - | deny explicit kp:NoDecrypt
deny-wins | KmsAdmin | bob | kms:ScheduleKeyDeletion | - | deny explicit kp:AccountNoDelete
deny-wins | KmsAdmin | bob | kms:Encrypt | - | deny no-resource
deny-wins | - | alice | kms:Encrypt | - | allow kp:AliceAll
deny-wins | DenyAllKms | alice | kms:Decrypt | - | deny explicit kp:NoDecrypt
deny-wins | DenyAllKms | alice | kms:Encrypt | - | deny explicit id:DenyAllKms
deny-wins | - | root | kms:ScheduleKeyDeletion | - | deny explicit kp:AccountNoDelete
not-principal | KmsAdmin | alice | kms:PutKeyPolicy | - | deny explicit kp:OnlyAdminsManage
not-principal | KmsAdmin | bob | kms:PutKeyPolicy | - | allow kp:Enable IAM policies + id:KmsAdmin/AllKms
not-principal | - | bob | kms:PutKeyPolicy | - | deny no-identity
not-principal | KmsAdmin | admin | kms:ScheduleKeyDeletion | - | allow kp:Enable IAM policies + id:KmsAdmin
not-principal | - | root | kms:PutKeyPolicy | - | deny explicit kp:OnlyAdminsManage
not-principal | KmsAdmin | alice | kms:Encrypt | - | allow kp + id:KmsAdmin
# aws:SourceIp with NotIpAddress and aws:ViaAWSService, in the key policy and in an IAM policy.
source-ip | KmsUseAll | alice | kms:Encrypt | aws:SourceIp=192.0.2.10;aws:ViaAWSService=false | allow kp:Enable IAM policies + id:KmsUseAll
source-ip | KmsUseAll | alice | kms:Encrypt | aws:SourceIp=198.51.100.7;aws:ViaAWSService=false | deny explicit kp:DenyOutsideCorp
source-ip | KmsUseAll | alice | kms:Encrypt | aws:SourceIp=198.51.100.7;aws:ViaAWSService=true | allow kp + id:KmsUseAll
source-ip | - | alice | kms:Encrypt | aws:SourceIp=192.0.2.10;aws:ViaAWSService=false | deny no-identity
source-ip | - | root | kms:Encrypt | aws:SourceIp=2001:db8::7;aws:ViaAWSService=false | allow kp:Enable IAM policies
default | KmsUseAll,CorpNetwork | alice | kms:Decrypt | aws:SourceIp=192.0.2.44;aws:ViaAWSService=false | allow kp + id:KmsUseAll
default | KmsUseAll,CorpNetwork | alice | kms:Decrypt | aws:SourceIp=203.0.113.9;aws:ViaAWSService=false | deny explicit id:CorpNetwork/DenyOutsideCorp
default | KmsUseAll,CorpNetwork | alice | kms:Decrypt | aws:SourceIp=203.0.113.9;aws:ViaAWSService=true | allow kp + id:KmsUseAll
default | KmsUseAll,CorpNetwork | alice | kms:Decrypt | aws:SourceIp=2001:db8:1::1;aws:ViaAWSService=false | allow kp + id:KmsUseAll
default | KmsUseAll,CorpNetwork | alice | kms:Decrypt | aws:SourceIp=203.0.113.9 | allow kp + id:KmsUseAll
# kms:ViaService: in an IAM policy, in the provider-managed key policy, in a key policy deny.
default | ViaServiceOnly | alice | kms:Encrypt | kms:ViaService=ec2.us-east-1.amazonaws.com | allow kp + id:ViaServiceOnly/ViaEc2Rds
default | ViaServiceOnly | alice | kms:GenerateDataKey | kms:ViaService=rds.us-east-1.amazonaws.com | allow kp + id:ViaServiceOnly
default | ViaServiceOnly | alice | kms:Encrypt | kms:ViaService=s3.us-east-1.amazonaws.com | deny no-identity
default | ViaServiceOnly | alice | kms:Encrypt | - | deny no-identity
default | ViaServiceOnly | alice | kms:Encrypt | kms:ViaService=ec2.us-west-2.amazonaws.com | deny no-identity
managed-ec2 | - | alice | kms:Encrypt | kms:ViaService=ec2.us-east-1.amazonaws.com | allow kp:Allow access through ec2 for all principals in the account that are authorized to use ec2
managed-ec2 | - | alice | kms:Encrypt | - | deny no-resource
managed-ec2 | - | alice | kms:DescribeKey | - | deny no-identity
managed-ec2 | KmsUseAll | alice | kms:DescribeKey | - | allow kp:Allow direct access to key metadata to the account + id:KmsUseAll
managed-ec2 | - | eve | kms:Encrypt | kms:ViaService=ec2.us-east-1.amazonaws.com | deny no-resource
managed-ec2 | KmsAdmin | alice | kms:ScheduleKeyDeletion | - | deny no-resource
via-service | - | alice | kms:Decrypt | - | deny explicit kp:NoDirectDecrypt
via-service | KmsAdmin | alice | kms:Decrypt | - | deny explicit kp:NoDirectDecrypt
via-service | - | alice | kms:Decrypt | kms:ViaService=rds.us-east-1.amazonaws.com | allow kp
via-service | KmsAdmin | eve | kms:Decrypt | kms:ViaService=rds.us-east-1.amazonaws.com | deny no-resource
# kms:CallerAccount admits identities of listed accounts; other accounts still need IAM.
caller-account | - | alice | kms:Encrypt | - | allow kp:AllowCallerAccounts
caller-account | - | ops | kms:GenerateDataKeyPair | - | allow kp:AllowCallerAccounts
caller-account | - | alice | kms:Sign | - | deny no-resource
caller-account | - | eve | kms:Encrypt | - | deny no-identity
caller-account | ExternalUse | eve | kms:Encrypt | - | allow kp:AllowCallerAccounts + id:ExternalUse/UsePartnerKeys
caller-account | ExternalUse | mallory | kms:Encrypt | - | deny no-resource
caller-account | - | eroot | kms:Encrypt | - | allow kp:AllowCallerAccounts + root
caller-account | - | svc:cloudtrail.amazonaws.com | kms:Encrypt | - | deny no-resource
# kms:EncryptionContext:<key> with ${aws:username}; names case-insensitive, values not.
default | ContextOwner | alice | kms:Decrypt | kms:EncryptionContext:Owner=Alice | allow kp + id:ContextOwner/OwnContext
default | ContextOwner | alice | kms:Decrypt | kms:EncryptionContext:Owner=Bob | deny no-identity
default | ContextOwner | bob | kms:Encrypt | kms:EncryptionContext:Owner=Bob | allow kp + id:ContextOwner
default | ContextOwner | alice | kms:Decrypt | - | deny no-identity
default | ContextOwner | ops | kms:Decrypt | kms:EncryptionContext:Owner=OpsDeploy | deny no-identity
default | ContextOwner | alice | kms:Decrypt | kms:encryptioncontext:owner=Alice | allow kp + id:ContextOwner
default | ContextOwner | alice | kms:Decrypt | kms:EncryptionContext:Owner=alice | deny no-identity
context-equals | - | alice | kms:Decrypt | kms:EncryptionContext:Department=IT | allow kp:DeptIT
context-equals | KmsAdmin | alice | kms:Decrypt | kms:EncryptionContext:Department=HR | deny no-resource
context-equals | KmsAdmin | bob | kms:Decrypt | kms:EncryptionContext:Department=IT | deny no-resource
# kms:EncryptionContextKeys with ForAllValues (and Null) or ForAnyValue.
default | ContextKeys | alice | kms:GenerateDataKey | kms:EncryptionContextKeys=Department | allow kp + id:ContextKeys/RequiredContextKeys
default | ContextKeys | alice | kms:GenerateDataKey | kms:EncryptionContextKeys=Department,Project | allow kp + id:ContextKeys
default | ContextKeys | alice | kms:GenerateDataKey | kms:EncryptionContextKeys=Department,Secret | deny no-identity
default | ContextKeys | alice | kms:GenerateDataKey | - | deny no-identity
default | ContextKeys | alice | kms:GenerateDataKey | kms:EncryptionContextKeys= | deny no-identity
default | ContextAnyKey | alice | kms:Encrypt | kms:EncryptionContextKeys=AppName,Other | allow kp + id:ContextAnyKey/SomeAppKey
default | ContextAnyKey | alice | kms:Encrypt | kms:EncryptionContextKeys=Other | deny no-identity
default | ContextAnyKey | alice | kms:Encrypt | - | deny no-identity
# ...IfExists, Bool and Null.
default | AlgorithmIfExists | alice | kms:Encrypt | - | allow kp + id:AlgorithmIfExists/SymmetricOnly
default | AlgorithmIfExists | alice | kms:Encrypt | kms:EncryptionAlgorithm=SYMMETRIC_DEFAULT | allow kp + id:AlgorithmIfExists
default | AlgorithmIfExists | alice | kms:Encrypt | kms:EncryptionAlgorithm=RSAES_OAEP_SHA_256 | deny no-identity
default | KmsAdmin,RequireMfa | alice | kms:ScheduleKeyDeletion | aws:MultiFactorAuthPresent=true | allow kp + id:KmsAdmin
default | KmsAdmin,RequireMfa | alice | kms:ScheduleKeyDeletion | aws:MultiFactorAuthPresent=false | deny explicit id:RequireMfa/DenyWithoutMfa
default | KmsAdmin,RequireMfa | alice | kms:ScheduleKeyDeletion | - | deny explicit id:RequireMfa/DenyWithoutMfa
default | KmsAdmin,RequireMfa | alice | kms:Encrypt | aws:MultiFactorAuthPresent=false | allow kp + id:KmsAdmin
default | KmsUseAll,RequireContext | alice | kms:Encrypt | - | deny explicit id:RequireContext/DenyNoContext
default | KmsUseAll,RequireContext | alice | kms:Encrypt | kms:EncryptionContextKeys=Dept | allow kp + id:KmsUseAll
default | KmsUseAll,RequireContext | alice | kms:Decrypt | - | allow kp + id:KmsUseAll
# Dates on aws:CurrentTime, in an IAM policy and in a key policy deny.
default | Window | alice | kms:Decrypt | aws:CurrentTime=2024-06-01T12:00:00Z | allow kp + id:Window/Window
default | Window | alice | kms:Decrypt | aws:CurrentTime=2025-06-01T00:00:00Z | deny no-identity
default | Window | alice | kms:Decrypt | - | deny no-identity
default | Window | alice | kms:Decrypt | aws:CurrentTime=2024-01-01T00:00:00Z | allow kp + id:Window
default | Window | alice | kms:Decrypt | aws:CurrentTime=2023-12-31T23:00:00-02:00 | allow kp + id:Window
expiring | KmsUseAll | alice | kms:Encrypt | aws:CurrentTime=2029-12-31T23:59:59Z | allow kp:Enable IAM policies + id:KmsUseAll
expiring | KmsUseAll | alice | kms:Encrypt | aws:CurrentTime=2030-01-01T00:00:01Z | deny explicit kp:KeyExpired
expiring | - | root | kms:Encrypt | aws:CurrentTime=2031-01-01T00:00:00Z | deny explicit kp:KeyExpired
expiring | - | root | kms:Encrypt | - | allow kp:Enable IAM policies
# ABAC: aws:ResourceTag against ${aws:PrincipalTag/...}, and a deny on a resource tag.
default | AbacProject | alice | kms:Encrypt | aws:PrincipalTag/Project=Falcon;aws:ResourceTag/Project=Falcon | allow kp + id:AbacProject/MatchingProject
default | AbacProject | alice | kms:Encrypt | aws:PrincipalTag/Project=Falcon;aws:ResourceTag/Project=Eagle | deny no-identity
default | AbacProject | alice | kms:Encrypt | aws:ResourceTag/Project=Falcon | deny no-identity
default | AbacProject | alice | kms:Encrypt | aws:PrincipalTag/Project=Falcon,Eagle;aws:ResourceTag/Project=Falcon | deny no-identity
default | AbacProject | alice | kms:Decrypt | aws:PrincipalTag/Project=Falcon;aws:resourcetag/project=Falcon | allow kp + id:AbacProject
default | KmsAdmin,ProtectProd | alice | kms:ScheduleKeyDeletion | aws:ResourceTag/Env=prod | deny explicit id:ProtectProd/KeepProdKeys
default | KmsAdmin,ProtectProd | alice | kms:ScheduleKeyDeletion | aws:ResourceTag/Env=dev | allow kp + id:KmsAdmin
default | KmsAdmin,ProtectProd | alice | kms:ScheduleKeyDeletion | - | allow kp + id:KmsAdmin
# aws:TagKeys with ForAnyValue; kms:ScheduleKeyDeletionPendingWindowInDays.
default | KmsAdmin,NoUntagOwner | alice | kms:UntagResource | aws:TagKeys=Owner,Project | deny explicit id:NoUntagOwner/KeepOwnerTag
default | KmsAdmin,NoUntagOwner | alice | kms:UntagResource | aws:TagKeys=Project | allow kp + id:KmsAdmin
default | KmsAdmin,NoUntagOwner | alice | kms:UntagResource | - | allow kp + id:KmsAdmin
default | KmsAdmin,MinWindow | alice | kms:ScheduleKeyDeletion | kms:ScheduleKeyDeletionPendingWindowInDays=7 | deny explicit id:MinWindow/AtLeastTwoWeeks
default | KmsAdmin,MinWindow | alice | kms:ScheduleKeyDeletion | kms:ScheduleKeyDeletionPendingWindowInDays=30 | allow kp + id:KmsAdmin
default | KmsAdmin,MinWindow | alice | kms:ScheduleKeyDeletion | - | allow kp + id:KmsAdmin
# ${aws:username} in an IAM policy's Resource; not substituted in a 2008-10-17 policy.
default | UserKeys | alice | kms:Encrypt | @resource=arn:aws:kms:us-east-1:111122223333:key/Alice-1 | allow kp + id:UserKeys/UserNamedKeys
default | UserKeys | alice | kms:Encrypt | @resource=arn:aws:kms:us-east-1:111122223333:key/Bob-1 | deny no-identity
default | UserKeys | ops | kms:Encrypt | @resource=arn:aws:kms:us-east-1:111122223333:key/OpsDeploy-1 | deny no-identity
default | UserKeys2008 | alice | kms:Encrypt | @resource=arn:aws:kms:us-east-1:111122223333:key/Alice-1 | deny no-identity
default | UserKeys2008 | alice | kms:Encrypt | @resource=arn:aws:kms:us-east-1:111122223333:key/${aws:username}-1 | allow kp + id:UserKeys2008
# Service principals are authorized by the key policy alone.
service | - | svc:cloudtrail.amazonaws.com | kms:GenerateDataKey | kms:EncryptionContext:aws:cloudtrail:arn=arn:aws:cloudtrail:us-east-1:111122223333:trail/main;aws:SourceAccount=111122223333 | allow kp:CloudTrail
service | KmsAdmin | svc:cloudtrail.amazonaws.com | kms:Decrypt | aws:SourceAccount=111122223333 | deny no-resource
service | KmsAdmin | alice | kms:GenerateDataKey | - | deny no-resource
# Actions no key policy governs: the account root user, or an IAM policy with Resource "*".
- | - | alice | kms:CreateKey | - | deny no-identity
- | CreateKeys | alice | kms:CreateKey | - | allow id:CreateKeys/AccountLevel
- | CreateKeys | alice | kms:ListAliases | - | allow id:CreateKeys/AccountLevel
- | CreateKeys | ops | kms:GenerateRandom | - | allow id:CreateKeys
- | CreateKeys | alice | kms:ScheduleKeyDeletion | - | deny no-identity
- | - | root | kms:CreateKey | - | allow root
- | - | eroot | kms:CreateKey | - | allow root
- | CreateKeys | eve | kms:CreateKey | - | allow id:CreateKeys
- | OneKey | alice | kms:CreateKey | - | deny no-identity
- | KmsUseAll | alice | kms:ListKeys | - | deny no-identity
- | KmsAdmin | alice | kms:ListKeys | - | allow id:KmsAdmin/AllKms
- | KmsAdmin,DenyAllKms | alice | kms:CreateKey | - | deny explicit id:DenyAllKms/NoKms
- | - | svc:cloudtrail.amazonaws.com | kms:CreateKey | - | deny no-identity
- | PowerUser | alice | kms:CreateKey | - | allow id:PowerUser/AllButIam
- | PowerUser | alice | iam:CreateUser | @resource=arn:aws:iam::111122223333:user/Bob | deny no-identity
- | CreateTagged | alice | kms:CreateKey | aws:RequestTag/Owner=Alice;aws:TagKeys=Owner | allow id:CreateTagged/CreateOwnKeys
- | CreateTagged | alice | kms:CreateKey | aws:RequestTag/Owner=Alice;aws:TagKeys=Owner,Project | allow id:CreateTagged
- | CreateTagged | alice | kms:CreateKey | aws:RequestTag/Owner=Bob;aws:TagKeys=Owner | deny no-identity
- | CreateTagged | alice | kms:CreateKey | aws:RequestTag/Owner=Alice;aws:TagKeys=Owner,Secret | deny no-identity
- | CreateTagged | alice | kms:CreateKey | - | deny no-identity
- | IamSelf | alice | iam:ChangePassword | @resource=arn:aws:iam::111122223333:user/Alice | allow id:IamSelf/OwnUser
- | IamSelf | bob | iam:ChangePassword | @resource=arn:aws:iam::111122223333:user/Alice | deny no-identity
- | IamSelf | alice | iam:ChangePassword | @resource=arn:aws:iam::444455556666:user/Alice | deny no-resource
- | - | root | iam:CreateUser | @resource=arn:aws:iam::111122223333:user/Carol | allow root
- | - | eroot | iam:CreateUser | @resource=arn:aws:iam::111122223333:user/Carol | deny no-resource
# sts:AssumeRole against a role's trust policy: the same rules as a key policy.
trust:trust-account | - | alice | sts:AssumeRole | - | deny no-identity
trust:trust-account | AssumeOps | alice | sts:AssumeRole | - | allow kp:TrustAccount + id:AssumeOps/AssumeOpsRoles
trust:trust-account | AssumeOps | alice | sts:AssumeRole | @resource=arn:aws:iam::111122223333:role/Admin | deny no-identity
trust:trust-account | - | root | sts:AssumeRole | - | allow kp:TrustAccount
trust:trust-account | AssumeOps,DenyAssume | alice | sts:AssumeRole | - | deny explicit id:DenyAssume/NoRoles
trust:trust-account | AssumeAny | eve | sts:AssumeRole | - | deny no-resource
trust:trust-alice | - | alice | sts:AssumeRole | - | allow kp:TrustAlice
trust:trust-alice | AssumeAny | bob | sts:AssumeRole | - | deny no-resource
trust:trust-alice | - | svc:ec2.amazonaws.com | sts:AssumeRole | - | allow kp:TrustEc2
trust:trust-alice | - | alice | sts:TagSession | - | deny no-resource
trust:trust-external | AssumeAny | eve | sts:AssumeRole | sts:ExternalId=Unique42 | allow kp:TrustPartner + id:AssumeAny/AssumeAnyRole
trust:trust-external | AssumeAny | eve | sts:AssumeRole | sts:ExternalId=Wrong | deny no-resource
trust:trust-external | AssumeAny | eve | sts:AssumeRole | - | deny no-resource
trust:trust-external | - | eve | sts:AssumeRole | sts:ExternalId=Unique42 | deny no-identity
trust:trust-external | - | eroot | sts:AssumeRole | sts:ExternalId=Unique42 | allow kp:TrustPartner + root
trust:trust-external | AssumeAny | mallory | sts:AssumeRole | sts:ExternalId=Unique42 | deny no-resource
"#;

fn caller(alias: &str) -> PrincipalInfo {
    let arn = match alias {
        "root" => "arn:aws:iam::111122223333:root",
        "alice" => "arn:aws:iam::111122223333:user/Alice",
        "bob" => "arn:aws:iam::111122223333:user/Bob",
        "admin" => "arn:aws:sts::111122223333:assumed-role/KeyAdmin/s1",
        "user" => "arn:aws:sts::111122223333:assumed-role/KeyUser/s1",
        "ops" => "arn:aws:sts::111122223333:assumed-role/OpsDeploy/s1",
        "eve" => "arn:aws:iam::444455556666:user/Eve",
        "eroot" => "arn:aws:iam::444455556666:root",
        "partner" => "arn:aws:sts::444455556666:assumed-role/Partner/s1",
        "mallory" => "arn:aws:iam::777788889999:user/Mallory",
        other => match other.strip_prefix("svc:") {
            Some(service) => return PrincipalInfo::Service(service.to_owned()),
            None => other,
        },
    };
    PrincipalInfo::from_arn(arn)
}

/// The resource policy of a row and the resource it governs by default.
fn resource_policy(name: &str) -> Option<(Policy, &'static str)> {
    if name == "-" {
        return None;
    }
    if let Some(trust) = name.strip_prefix("trust:") {
        let text = identity::trust(trust);
        let policy = parse_trust_policy(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        return Some((policy, ROLE));
    }
    let text = policies::policy(name);
    let policy = parse_key_policy(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
    Some((policy, KEY))
}

fn identity_policies(names: &str) -> Vec<(String, Policy)> {
    names
        .split(',')
        .filter(|n| *n != "-")
        .map(|name| {
            let text = identity::identity(name);
            let policy = parse_identity_policy(&text, ROLE_POLICY_MAX_CHARS)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
            (name.to_owned(), policy)
        })
        .collect()
}

fn context(who: &str, action: &str, resource: &str, keys: &str) -> RequestContext {
    let mut ctx = RequestContext::new(caller(who), action, resource);
    for pair in keys.split(';').filter(|p| *p != "-") {
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

fn source_matches(source: &Source<'_>, want: &str) -> bool {
    match (want, source) {
        ("root", Source::AccountRoot) => true,
        ("kp", Source::ResourcePolicy { .. }) => true,
        (w, Source::ResourcePolicy { sid }) => w.strip_prefix("kp:") == Some(sid.unwrap_or("")),
        (w, Source::IdentityPolicy { name: n, sid }) => match w.strip_prefix("id:") {
            Some(spec) => match spec.split_once('/') {
                Some((want_name, want_sid)) => *n == want_name && sid.unwrap_or("") == want_sid,
                None => *n == spec,
            },
            None => false,
        },
        _ => false,
    }
}

/// Whether `got` is what the table's `expected` column says.
fn expected(got: &Authorization<'_>, want: &str) -> bool {
    if let Some(sources) = want.strip_prefix("allow ") {
        let wanted: Vec<&str> = sources.split(" + ").collect();
        return match got {
            Authorization::Allowed { by } => {
                by.len() == wanted.len()
                    && by.iter().zip(&wanted).all(|(s, w)| source_matches(s, w))
            }
            Authorization::Denied { .. } => false,
        };
    }
    let Authorization::Denied { reason } = got else {
        return false;
    };
    match (want, reason) {
        ("deny no-identity", Denial::NoIdentityPolicyAllows) => true,
        ("deny no-resource", Denial::NoResourcePolicyAllows) => true,
        ("deny explicit kp", Denial::ExplicitDenyInResourcePolicy { .. }) => true,
        (w, Denial::ExplicitDenyInResourcePolicy { sid }) => {
            w.strip_prefix("deny explicit kp:") == Some(sid.unwrap_or(""))
        }
        (w, Denial::ExplicitDenyInIdentityPolicy { name, sid }) => {
            let Some(spec) = w.strip_prefix("deny explicit id:") else {
                return false;
            };
            match spec.split_once('/') {
                Some((want_name, want_sid)) => *name == want_name && sid.unwrap_or("") == want_sid,
                None => *name == spec,
            }
        }
        _ => false,
    }
}

#[test]
fn documented_access_rules_decide_as_aws_does() {
    let mut failures = Vec::new();
    let mut count = 0;
    for line in CASES.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let cols: Vec<&str> = line.split(" | ").map(str::trim).collect();
        let [resource_name, identity_names, who, action, keys, want] = cols.as_slice() else {
            panic!("malformed row: {line}");
        };
        let resource = resource_policy(resource_name);
        let default_resource = resource.as_ref().map_or("*", |(_, r)| *r);
        let ctx = context(who, action, default_resource, keys);
        let owned = identity_policies(identity_names);
        let named: Vec<(&str, &Policy)> = owned.iter().map(|(n, p)| (n.as_str(), p)).collect();
        let resource_account = ctx.resource().split(':').nth(4).filter(|a| !a.is_empty());
        let input = AuthorizationInput {
            context: &ctx,
            resource_policy: resource.as_ref().map(|(p, _)| p),
            identity_policies: &named,
            resource_account,
        };
        let got = authorize(&input);
        if !expected(&got, want) {
            failures.push(format!("{line}\n    got {got:?}"));
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

#[test]
fn denial_messages_end_with_aws_phrases() {
    let text = policies::policy("default");
    let key_policy = parse_key_policy(&text).unwrap();
    let ctx = RequestContext::new(caller("alice"), "kms:Encrypt", KEY);
    let input = AuthorizationInput {
        context: &ctx,
        resource_policy: Some(&key_policy),
        identity_policies: &[],
        resource_account: Some("111122223333"),
    };
    let got = authorize(&input);
    let reason = got.denial().unwrap();
    assert_eq!(
        format!(
            "User: arn:aws:iam::111122223333:user/Alice is not authorized to perform: kms:Encrypt \
             on resource: {KEY} {}",
            reason.phrase(ctx.action())
        ),
        format!(
            "User: arn:aws:iam::111122223333:user/Alice is not authorized to perform: kms:Encrypt \
             on resource: {KEY} because no identity-based policy allows the kms:Encrypt action"
        )
    );
    let other = RequestContext::new(caller("eve"), "kms:Encrypt", OTHER_ACCOUNT_KEY);
    let input = AuthorizationInput {
        context: &other,
        resource_policy: Some(&key_policy),
        identity_policies: &[],
        resource_account: Some("444455556666"),
    };
    assert_eq!(
        authorize(&input)
            .denial()
            .unwrap()
            .phrase("kms:Encrypt")
            .to_string(),
        "because no resource-based policy allows the kms:Encrypt action"
    );
}

#[test]
fn the_default_key_policy_needs_no_condition_key() {
    let text = policies::policy("default");
    let key_policy = parse_key_policy(&text).unwrap();
    assert!(key_policy.condition_keys().is_empty());
    let ctx = RequestContext::new(caller("root"), "kms:Encrypt", KEY);
    let input = AuthorizationInput {
        context: &ctx,
        resource_policy: Some(&key_policy),
        identity_policies: &[],
        resource_account: Some("111122223333"),
    };
    for key in [
        "kms:EncryptionContext:*",
        "aws:ResourceTag/*",
        "aws:RequestTag/*",
        "aws:PrincipalTag/*",
        "aws:SourceIp",
        "kms:ViaService",
        "aws:CurrentTime",
    ] {
        assert!(!input.needs(key), "{key}");
    }
    assert!(authorize(&input).is_allowed());
    let abac = identity_policies("AbacProject,ContextOwner,CorpNetwork");
    let named: Vec<(&str, &Policy)> = abac.iter().map(|(n, p)| (n.as_str(), p)).collect();
    let input = AuthorizationInput {
        identity_policies: &named,
        ..input
    };
    for key in [
        "aws:ResourceTag/*",
        "aws:ResourceTag/Project",
        "aws:PrincipalTag/*",
        "aws:principaltag/project",
        "kms:EncryptionContext:*",
        "kms:EncryptionContext:Owner",
        "aws:username",
        "aws:SourceIp",
        "aws:ViaAWSService",
    ] {
        assert!(input.needs(key), "{key}");
    }
    for key in [
        "aws:RequestTag/*",
        "kms:EncryptionContext:Department",
        "aws:CurrentTime",
    ] {
        assert!(!input.needs(key), "{key}");
    }
}
