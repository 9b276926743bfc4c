//! Provider-managed keys: the first use of `alias/aws/<service>` in an account and region
//! creates that service's managed key (KeyManager AWS) with a fixed policy and yearly
//! rotation, and the alias pointing at it, in one transaction.

use crate::resolve::alias_cache_key;
use crate::{RequestContext, Service};
use std::collections::BTreeMap;
use strongroom_core::KmsError;
use strongroom_core::alias::Alias;
use strongroom_core::ids::{AliasName, KeyId, RESERVED_ALIAS_PREFIX};
use strongroom_core::key::{Key, KeyManager, KeySpec, KeyUsage, Origin, RotationSchedule};
use strongroom_core::lifecycle::{DAY_MS, ROTATION_PERIOD_DAYS};
use strongroom_core::state::KeyState;
use strongroom_core::time::Timestamp;
use strongroom_store::{Expect, StoreError, Transaction, Write};

/// Services whose `alias/aws/<service>` names a managed key (AWS's predefined aliases).
pub const MANAGED_SERVICES: &[&str] = &[
    "acm",
    "backup",
    "cloud9",
    "codeartifact",
    "codecommit",
    "connect",
    "dms",
    "dynamodb",
    "ebs",
    "ecr",
    "elasticfilesystem",
    "es",
    "fsx",
    "glue",
    "kafka",
    "kinesis",
    "kinesisvideo",
    "lambda",
    "lightsail",
    "logs",
    "rds",
    "redshift",
    "s3",
    "secretsmanager",
    "ses",
    "sns",
    "sqs",
    "ssm",
    "xray",
];

/// The service a reserved alias names, if it is one of [`MANAGED_SERVICES`].
fn managed_service(name: &AliasName) -> Option<&'static str> {
    let service = name.as_str().strip_prefix(RESERVED_ALIAS_PREFIX)?;
    MANAGED_SERVICES.iter().copied().find(|s| *s == service)
}

impl Service {
    /// Creates the managed key `name` stands for, unless a concurrent request just did, and
    /// returns its id. `None` if `name` is not a predefined managed-key alias.
    pub(crate) async fn ensure_managed_key(
        &self,
        ctx: &RequestContext,
        name: &AliasName,
    ) -> Result<Option<KeyId>, KmsError> {
        let Some(service) = managed_service(name) else {
            return Ok(None);
        };
        let now = self.clock().now();
        let id = KeyId::from_random(self.random()?);
        let key = Key {
            id,
            arn: ctx.scope.key_arn(&id),
            account: ctx.account().clone(),
            region: ctx.scope.region.clone(),
            created_at: now,
            description: format!(
                "Default key that protects my {service} data when no other key is defined"
            ),
            spec: KeySpec::SymmetricDefault,
            usage: KeyUsage::EncryptDecrypt,
            origin: Origin::AwsKms,
            manager: KeyManager::Aws,
            state: KeyState::Enabled,
            current_version: 1,
            tags: BTreeMap::new(),
            policy: strongroom_policy::managed_key_policy(
                &ctx.scope.partition,
                ctx.account().as_str(),
                service,
                ctx.scope.region.as_str(),
            ),
            rotation: Some(RotationSchedule {
                period_days: ROTATION_PERIOD_DAYS.2,
                next_rotation_at: Timestamp(now.0 + i64::from(ROTATION_PERIOD_DAYS.2) * DAY_MS),
            }),
            on_demand_rotations: 0,
            deletion: None,
            imported: Vec::new(),
            policy_updated_at: now,
        };
        let alias = Alias {
            account: ctx.account().clone(),
            region: ctx.scope.region.clone(),
            name: name.clone(),
            target: id,
            created_at: now,
            updated_at: now,
        };
        let mut txn = Transaction::new();
        txn.push(Write::AddKeyVersion(self.new_material(&key, 1, now, None)?));
        txn.writes.insert(
            0,
            Write::PutKey {
                key,
                expect: Expect::Absent,
            },
        );
        txn.push(Write::PutAlias {
            alias,
            expect: Expect::Absent,
        });
        match self.store_raw(move |s| s.commit(txn)).await {
            Ok(()) => {
                self.inner
                    .cache
                    .invalidate_alias(&alias_cache_key(&ctx.scope, name));
                tracing::info!(alias = %name, key = %id, "managed key created on first use");
                Ok(Some(id))
            }
            // A concurrent first use won: its key is the one.
            Err(StoreError::Conflict) => {
                Ok(self.find_alias(ctx, name).await?.map(|a| a.value.target))
            }
            Err(e) => Err(crate::store_call::map_store_error("CreateManagedKey", e)),
        }
    }
}
