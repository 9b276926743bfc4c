//! TagResource, UntagResource, ListResourceTags, and the Tags member CreateKey shares.

use super::{Call, PageInfo, empty, json, key_ref, limit, marker};
use crate::error::ApiError;
use crate::input::{parse_body, required, str_len};
use serde::{Deserialize, Serialize};

/// One element of a Tags list, as sent.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct TagDto {
    tag_key: Option<String>,
    tag_value: Option<String>,
}

/// Validates a Tags list: TagKey 1–128 and TagValue 0–256 characters, both required.
pub(crate) fn tag_list(v: &Option<Vec<TagDto>>) -> Result<Vec<(String, String)>, ApiError> {
    let Some(tags) = v else { return Ok(Vec::new()) };
    let mut out = Vec::with_capacity(tags.len());
    for (n, t) in tags.iter().enumerate() {
        let at = |m: &str| format!("tags.{}.member.{m}", n + 1);
        let k = required(&t.tag_key, &at("tagKey"))?;
        str_len(&at("tagKey"), k, 1, 128)?;
        let val = required(&t.tag_value, &at("tagValue"))?;
        str_len(&at("tagValue"), val, 0, 256)?;
        out.push((k.clone(), val.clone()));
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct TagIn {
    key_id: Option<String>,
    tags: Option<Vec<TagDto>>,
}

pub(crate) async fn tag_resource(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: TagIn = parse_body(c.body)?;
    let r = key_ref(&i.key_id, "keyId")?;
    required(&i.tags, "tags")?;
    let tags = tag_list(&i.tags)?;
    c.svc.tag_resource(c.ctx, &r, tags).await?;
    Ok(empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct UntagIn {
    key_id: Option<String>,
    tag_keys: Option<Vec<String>>,
}

pub(crate) async fn untag_resource(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: UntagIn = parse_body(c.body)?;
    let r = key_ref(&i.key_id, "keyId")?;
    let keys = required(&i.tag_keys, "tagKeys")?;
    for (n, k) in keys.iter().enumerate() {
        str_len(&format!("tagKeys.{}.member", n + 1), k, 1, 128)?;
    }
    c.svc.untag_resource(c.ctx, &r, keys.clone()).await?;
    Ok(empty())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ListTagsIn {
    key_id: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct TagOut {
    tag_key: String,
    tag_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct ListTagsOut {
    tags: Vec<TagOut>,
    #[serde(flatten)]
    page: PageInfo,
}

pub(crate) async fn list_resource_tags(c: Call<'_>) -> Result<Vec<u8>, ApiError> {
    let i: ListTagsIn = parse_body(c.body)?;
    let r = key_ref(&i.key_id, "keyId")?;
    let limit = limit(i.limit)?;
    let marker = marker(&i.marker)?;
    let page = c.svc.list_resource_tags(c.ctx, &r, limit, marker).await?;
    let tags = page
        .items
        .into_iter()
        .map(|(tag_key, tag_value)| TagOut { tag_key, tag_value })
        .collect();
    json(&ListTagsOut {
        tags,
        page: PageInfo::new(page.next_marker),
    })
}
