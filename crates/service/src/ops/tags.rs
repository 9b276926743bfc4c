//! Tags: TagResource, UntagResource, ListResourceTags.

use super::{Page, decode_marker, page};
use crate::authz::Access;
use crate::{RequestContext, Service};
use std::collections::BTreeMap;
use strongroom_core::KmsError;
use strongroom_core::ids::KeyRef;
use strongroom_core::key::MAX_TAGS_PER_KEY;
use strongroom_core::operation::Operation;

/// Adds `new` to `tags` (replacing values of existing keys), enforcing AWS's tag rules:
/// no `aws:` prefix, no duplicate keys in one request, at most 50 tags per key.
pub(crate) fn merge_tags(
    mut tags: BTreeMap<String, String>,
    new: &[(String, String)],
) -> Result<BTreeMap<String, String>, KmsError> {
    let mut seen = std::collections::BTreeSet::new();
    for (k, v) in new {
        if k.starts_with("aws:") {
            return Err(KmsError::Tag(
                "Tags beginning with aws: are reserved.".to_owned(),
            ));
        }
        if !seen.insert(k.as_str()) {
            return Err(KmsError::Tag(format!("Duplicate tag key: {k}")));
        }
        tags.insert(k.clone(), v.clone());
    }
    if tags.len() > MAX_TAGS_PER_KEY {
        return Err(KmsError::LimitExceeded(format!(
            "A key can have at most {MAX_TAGS_PER_KEY} tags."
        )));
    }
    Ok(tags)
}

/// Adds the tags of a request as `aws:TagKeys` and `aws:RequestTag/KEY` condition keys.
pub(crate) fn request_tags<'a>(mut access: Access<'a>, tags: &[(String, String)]) -> Access<'a> {
    access
        .keys
        .push(("aws:TagKeys", tags.iter().map(|(k, _)| k.clone()).collect()));
    access.request_tags = tags.to_vec();
    access
}

impl Service {
    /// TagResource.
    pub async fn tag_resource(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        tags: Vec<(String, String)>,
    ) -> Result<(), KmsError> {
        let access = request_tags(Access::new(Operation::TagResource), &tags);
        self.update_key(ctx, r, &access, |k| {
            k.check_customer_managed()?;
            k.state.check_manageable(&k.arn)?;
            k.tags = merge_tags(std::mem::take(&mut k.tags), &tags)?;
            Ok(())
        })
        .await
        .map(drop)
    }

    /// UntagResource. Removing a tag that is not there is not an error.
    pub async fn untag_resource(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        keys: Vec<String>,
    ) -> Result<(), KmsError> {
        if keys.iter().any(|k| k.starts_with("aws:")) {
            return Err(KmsError::Tag(
                "Tags beginning with aws: are reserved.".to_owned(),
            ));
        }
        let access = Access::new(Operation::UntagResource).key("aws:TagKeys", keys.clone());
        self.update_key(ctx, r, &access, |k| {
            k.check_customer_managed()?;
            k.state.check_manageable(&k.arn)?;
            for t in &keys {
                k.tags.remove(t);
            }
            Ok(())
        })
        .await
        .map(drop)
    }

    /// ListResourceTags, ordered by tag key.
    pub async fn list_resource_tags(
        &self,
        ctx: &RequestContext,
        r: &KeyRef,
        limit: usize,
        marker: Option<&str>,
    ) -> Result<Page<(String, String)>, KmsError> {
        let access = Access::new(Operation::ListResourceTags);
        let key = self.resolve(ctx, r, &access).await?;
        let after = marker.map(decode_marker).transpose()?;
        let items: Vec<(String, String)> = key
            .key
            .tags
            .iter()
            .filter(|(k, _)| after.as_ref().is_none_or(|a| k.as_str() > a.as_str()))
            .take(limit + 1)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        Ok(page(items, limit, |(k, _)| k.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(k: &str) -> (String, String) {
        (k.to_owned(), "v".to_owned())
    }

    #[test]
    fn tag_rules() {
        assert!(merge_tags(BTreeMap::new(), &[t("a"), t("b")]).is_ok());
        assert!(matches!(
            merge_tags(BTreeMap::new(), &[t("aws:x")]),
            Err(KmsError::Tag(_))
        ));
        assert!(matches!(
            merge_tags(BTreeMap::new(), &[t("a"), t("a")]),
            Err(KmsError::Tag(_))
        ));
        let fifty: Vec<_> = (0..50).map(|i| t(&i.to_string())).collect();
        let full = merge_tags(BTreeMap::new(), &fifty).unwrap();
        assert_eq!(full.len(), 50);
        assert!(
            merge_tags(full.clone(), &[t("0")]).is_ok(),
            "replacing stays within the limit"
        );
        assert!(matches!(
            merge_tags(full, &[t("new")]),
            Err(KmsError::LimitExceeded(_))
        ));
    }
}
