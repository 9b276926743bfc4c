//! IAM actions over the Query protocol: each reads its parameters, checks the API model's
//! constraints (botocore's `iam` model: lengths, patterns, ranges; ValidationError naming the
//! lowerCamel member), calls the service and writes the output shape's XML (member names as
//! in the model; policy documents URL-encoded, as IAM returns them).

use super::{
    Answer, Call, Params, QueryError, QueryService, Xml, audit, response_body, url_encode,
};
use crate::error::ApiError;
use crate::input::{chars_match, int_range, list_len, required, str_len};
use strongroom_core::KmsError;
use strongroom_core::identity::{AccessKeyStatus, Role, User};
use strongroom_service::ops::Page;
use strongroom_service::ops::iam::{
    AccessKeyInfo, CreateRoleInput, CreateUserInput, InlinePolicy, Tag, UserView,
};

type Out = Result<Answer, QueryError>;

// Runs IAM action `action` (`dispatch`; `None` if this server does not know it); `ACTIONS`
// lists the same actions, as the metrics' operation labels.
super::actions! {
    "CreateUser" => create_user,
    "GetUser" => get_user,
    "DeleteUser" => delete_user,
    "ListUsers" => list_users,
    "CreateAccessKey" => create_access_key,
    "UpdateAccessKey" => update_access_key,
    "DeleteAccessKey" => delete_access_key,
    "ListAccessKeys" => list_access_keys,
    "PutUserPolicy" => put_user_policy,
    "GetUserPolicy" => get_user_policy,
    "DeleteUserPolicy" => delete_user_policy,
    "ListUserPolicies" => list_user_policies,
    "CreateRole" => create_role,
    "GetRole" => get_role,
    "DeleteRole" => delete_role,
    "ListRoles" => list_roles,
    "PutRolePolicy" => put_role_policy,
    "GetRolePolicy" => get_role_policy,
    "DeleteRolePolicy" => delete_role_policy,
    "ListRolePolicies" => list_role_policies,
    "TagUser" => tag_user,
    "UntagUser" => untag_user,
    "ListUserTags" => list_user_tags,
    "TagRole" => tag_role,
    "UntagRole" => untag_role,
    "ListRoleTags" => list_role_tags,
}

fn ok(c: &Call<'_>, action: &str, fill: &dyn Fn(&mut Xml)) -> Out {
    Ok(Answer::new(response_body(
        QueryService::Iam,
        action,
        c.request_id,
        Some(fill),
    )))
}

fn ok_empty(c: &Call<'_>, action: &str) -> Out {
    Ok(Answer::new(response_body(
        QueryService::Iam,
        action,
        c.request_id,
        None,
    )))
}

// -- members and their constraints -----------------------------------------------------------

const NAME_PATTERN: &str = "[\\w+=,.@-]+";

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '_' | '+' | '=' | ',' | '.' | '@' | '-')
}

/// A name member (`userNameType` 1–64, `existingUserNameType` 1–128, `policyNameType` 1–128):
/// `[\w+=,.@-]+`.
fn check_name(member: &str, v: &str, max: usize) -> Result<(), ApiError> {
    str_len(member, v, 1, max)?;
    chars_match(member, v, NAME_PATTERN, is_name_char)
}

fn req_name(p: &Params, param: &str, member: &str, max: usize) -> Result<String, ApiError> {
    let v = p.string(param);
    let s = required(&v, member)?;
    check_name(member, s, max)?;
    Ok(s.clone())
}

fn opt_name(p: &Params, param: &str, member: &str, max: usize) -> Result<Option<String>, ApiError> {
    match p.string(param) {
        Some(s) => check_name(member, &s, max).map(|()| Some(s)),
        None => Ok(None),
    }
}

/// `pathType`: 1–512 characters, `(\u002F)|(\u002F[\u0021-\u007E]+\u002F)`.
fn path(p: &Params) -> Result<Option<String>, ApiError> {
    let Some(s) = p.string("Path") else {
        return Ok(None);
    };
    str_len("path", &s, 1, 512)?;
    let ok = s == "/"
        || (s.len() >= 3
            && s.starts_with('/')
            && s.ends_with('/')
            && s.bytes().all(|b| (0x21..=0x7e).contains(&b)));
    if !ok {
        chars_match(
            "path",
            &s,
            "(\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
            |_| false,
        )?;
    }
    Ok(Some(s))
}

/// `pathPrefixType`: 1–512 characters, `\u002F[\u0021-\u007F]*`.
fn path_prefix(p: &Params) -> Result<Option<String>, ApiError> {
    let Some(s) = p.string("PathPrefix") else {
        return Ok(None);
    };
    str_len("pathPrefix", &s, 1, 512)?;
    let ok = s.starts_with('/') && s.bytes().all(|b| (0x21..=0x7f).contains(&b));
    if !ok {
        chars_match("pathPrefix", &s, "\\u002F[\\u0021-\\u007F]*", |_| false)?;
    }
    Ok(Some(s))
}

/// `markerType`: 1–320 characters of `[\u0020-\u00FF]`.
fn marker(p: &Params) -> Result<Option<String>, ApiError> {
    let Some(s) = p.string("Marker") else {
        return Ok(None);
    };
    str_len("marker", &s, 1, 320)?;
    chars_match("marker", &s, "[\\u0020-\\u00FF]+", |c| {
        ('\u{20}'..='\u{FF}').contains(&c)
    })?;
    Ok(Some(s))
}

/// `maxItemsType`: 1–1000; 100 when absent.
fn max_items(p: &Params) -> Result<usize, QueryError> {
    match p.int("MaxItems", "maxItems")? {
        Some(n) => {
            int_range("maxItems", n, 1, 1000)?;
            Ok(usize::try_from(n).unwrap_or(1000))
        }
        None => Ok(strongroom_service::ops::DEFAULT_LIMIT),
    }
}

/// `policyDocumentType`: 1–131072 characters of `[\u0009\u000A\u000D\u0020-\u00FF]`.
fn policy_document(p: &Params, param: &str, member: &str) -> Result<String, ApiError> {
    let v = p.string(param);
    let s = required(&v, member)?;
    str_len(member, s, 1, 131_072)?;
    chars_match(
        member,
        s,
        "[\\u0009\\u000A\\u000D\\u0020-\\u00FF]+",
        is_policy_char,
    )?;
    Ok(s.clone())
}

pub(crate) fn is_policy_char(c: char) -> bool {
    matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{FF}')
}

/// `[\p{L}\p{Z}\p{N}_.:/=+\-@]`: letters, separators, numbers and `_.:/=+-@`.
pub(crate) fn is_tag_char(c: char) -> bool {
    c.is_alphabetic()
        || c.is_numeric()
        || (c.is_whitespace() && !c.is_control())
        || matches!(c, '_' | '.' | ':' | '/' | '=' | '+' | '-' | '@')
}

const TAG_PATTERN: &str = "[\\p{L}\\p{Z}\\p{N}_.:/=+\\-@]";

/// `tagKeyType`: 1–128 characters of the tag pattern.
pub(crate) fn check_tag_key(member: &str, k: &str) -> Result<(), ApiError> {
    str_len(member, k, 1, 128)?;
    chars_match(member, k, &format!("{TAG_PATTERN}+"), is_tag_char)
}

/// `tagListType`: at most 50 `Tag`s, each with a required Key and Value.
pub(crate) fn tags(p: &Params, required_list: bool) -> Result<Vec<Tag>, QueryError> {
    let list = p.struct_list("Tags")?;
    let list = match list {
        Some(l) => l,
        None if required_list => {
            required::<()>(&None, "tags")?;
            Vec::new()
        }
        None => Vec::new(),
    };
    list_len("tags", list.len(), 0, 50)?;
    let mut out = Vec::with_capacity(list.len());
    for (i, mut m) in list.into_iter().enumerate() {
        let at = |f: &str| format!("tags.{}.member.{f}", i + 1);
        let key = m.remove("Key");
        let value = m.remove("Value");
        let key = required(&key, &at("key"))?.clone();
        let value = required(&value, &at("value"))?.clone();
        check_tag_key(&at("key"), &key)?;
        str_len(&at("value"), &value, 0, 256)?;
        chars_match(
            &at("value"),
            &value,
            &format!("{TAG_PATTERN}*"),
            is_tag_char,
        )?;
        out.push(Tag { key, value });
    }
    Ok(out)
}

/// `tagKeyListType`: at most 50 keys.
fn tag_keys(p: &Params) -> Result<Vec<String>, QueryError> {
    let keys = p.list("TagKeys")?;
    let keys = required(&keys, "tagKeys")?.clone();
    list_len("tagKeys", keys.len(), 0, 50)?;
    for (i, k) in keys.iter().enumerate() {
        check_tag_key(&format!("tagKeys.{}.member", i + 1), k)?;
    }
    Ok(keys)
}

/// Members of the model this server does not implement: refused rather than ignored, since
/// ignoring them would grant more (a permissions boundary) or store less than asked.
fn unsupported(p: &Params, members: &[&str]) -> Result<(), QueryError> {
    for m in members {
        if p.has(m) {
            return Err(KmsError::UnsupportedOperation(format!(
                "{m} is not supported by this server."
            ))
            .into());
        }
    }
    Ok(())
}

// -- output shapes -------------------------------------------------------------------------

fn write_tags(x: &mut Xml, tags: &std::collections::BTreeMap<String, String>) {
    x.open("Tags");
    for (k, v) in tags {
        x.open("member");
        x.elem("Key", k);
        x.elem("Value", v);
        x.close("member");
    }
    x.close("Tags");
}

/// The `User` shape; `with_tags` for GetUser and CreateUser (ListUsers omits tags, as IAM's).
fn write_user(x: &mut Xml, u: &User, with_tags: bool) {
    x.elem("Path", &u.path);
    x.elem("UserName", &u.name);
    x.elem("UserId", &u.id);
    x.elem("Arn", &u.arn);
    x.time("CreateDate", u.created_at);
    if with_tags && !u.tags.is_empty() {
        write_tags(x, &u.tags);
    }
}

/// The `Role` shape.
fn write_role(x: &mut Xml, r: &Role, with_tags: bool, with_last_used: bool) {
    x.elem("Path", &r.path);
    x.elem("RoleName", &r.name);
    x.elem("RoleId", &r.id);
    x.elem("Arn", &r.arn);
    x.time("CreateDate", r.created_at);
    x.elem("AssumeRolePolicyDocument", &url_encode(&r.trust_policy));
    if !r.description.is_empty() {
        x.elem("Description", &r.description);
    }
    x.elem("MaxSessionDuration", &r.max_session_duration.to_string());
    if with_tags && !r.tags.is_empty() {
        write_tags(x, &r.tags);
    }
    if with_last_used {
        x.open("RoleLastUsed");
        x.close("RoleLastUsed");
    }
}

/// `IsTruncated` and, when truncated, `Marker`.
fn write_page_info<T>(x: &mut Xml, page: &Page<T>) {
    x.bool("IsTruncated", page.next_marker.is_some());
    x.opt_elem("Marker", page.next_marker.as_deref());
}

fn write_policy_names(x: &mut Xml, page: &Page<String>) {
    x.open("PolicyNames");
    for n in &page.items {
        x.elem("member", n);
    }
    x.close("PolicyNames");
    write_page_info(x, page);
}

fn write_tag_page(x: &mut Xml, page: &Page<Tag>) {
    x.open("Tags");
    for t in &page.items {
        x.open("member");
        x.elem("Key", &t.key);
        x.elem("Value", &t.value);
        x.close("member");
    }
    x.close("Tags");
    write_page_info(x, page);
}

fn write_inline_policy(x: &mut Xml, entity_member: &str, p: &InlinePolicy) {
    x.elem(entity_member, &p.entity_name);
    x.elem("PolicyName", &p.policy_name);
    x.elem("PolicyDocument", &url_encode(&p.document));
}

// -- users ---------------------------------------------------------------------------------

async fn create_user(c: Call<'_>) -> Out {
    let p = c.params;
    let name = req_name(p, "UserName", "userName", 64)?;
    let path = path(p)?;
    let tags = tags(p, false)?;
    unsupported(p, &["PermissionsBoundary"])?;
    let user = c
        .svc
        .create_user(c.ctx, CreateUserInput { name, path, tags })
        .await?;
    ok(&c, "CreateUser", &|x| {
        x.open("User");
        write_user(x, &user, true);
        x.close("User");
    })
    .map(|a| a.with_elements(audit::user_elements(&user)))
}

async fn get_user(c: Call<'_>) -> Out {
    let name = opt_name(c.params, "UserName", "userName", 128)?;
    let view = c.svc.get_user(c.ctx, name.as_deref()).await?;
    ok(&c, "GetUser", &|x| {
        x.open("User");
        match &view {
            UserView::User(u) => write_user(x, u, true),
            UserView::Root {
                account,
                arn,
                created_at,
            } => {
                x.elem("UserId", account.as_str());
                x.elem("Arn", arn);
                x.time("CreateDate", *created_at);
            }
        }
        x.close("User");
    })
}

async fn delete_user(c: Call<'_>) -> Out {
    let name = req_name(c.params, "UserName", "userName", 128)?;
    c.svc.delete_user(c.ctx, &name).await?;
    ok_empty(&c, "DeleteUser")
}

async fn list_users(c: Call<'_>) -> Out {
    let prefix = path_prefix(c.params)?;
    let marker = marker(c.params)?;
    let limit = max_items(c.params)?;
    let page = c
        .svc
        .list_users(c.ctx, prefix.as_deref(), marker.as_deref(), limit)
        .await?;
    ok(&c, "ListUsers", &|x| {
        x.open("Users");
        for u in &page.items {
            x.open("member");
            write_user(x, u, false);
            x.close("member");
        }
        x.close("Users");
        write_page_info(x, &page);
    })
}

// -- access keys ---------------------------------------------------------------------------

/// `accessKeyIdType`: 16–128 characters of `[\w]+`.
fn access_key_id(p: &Params) -> Result<String, ApiError> {
    let v = p.string("AccessKeyId");
    let s = required(&v, "accessKeyId")?;
    str_len("accessKeyId", s, 16, 128)?;
    chars_match("accessKeyId", s, "[\\w]+", |c| {
        c.is_ascii_alphanumeric() || c == '_'
    })?;
    Ok(s.clone())
}

async fn create_access_key(c: Call<'_>) -> Out {
    let name = opt_name(c.params, "UserName", "userName", 128)?;
    let key = c.svc.create_access_key(c.ctx, name.as_deref()).await?;
    let secret = std::str::from_utf8(key.secret_access_key.expose())
        .map_err(|_| ApiError::Kms(KmsError::Internal))?;
    let elements = audit::access_key_elements(
        key.user_name.as_deref(),
        &key.access_key_id,
        key.status.as_str(),
        key.created_at,
    );
    ok(&c, "CreateAccessKey", &|x| {
        x.open("AccessKey");
        x.opt_elem("UserName", key.user_name.as_deref());
        x.elem("AccessKeyId", &key.access_key_id);
        x.elem("Status", key.status.as_str());
        x.elem("SecretAccessKey", secret);
        x.time("CreateDate", key.created_at);
        x.close("AccessKey");
    })
    .map(|a| a.with_elements(elements))
}

async fn update_access_key(c: Call<'_>) -> Out {
    let p = c.params;
    let name = opt_name(p, "UserName", "userName", 128)?;
    let id = access_key_id(p)?;
    let status = p.string("Status");
    let status = required(&status, "status")?;
    let status = match status.as_str() {
        "Active" => AccessKeyStatus::Active,
        "Inactive" => AccessKeyStatus::Inactive,
        "Expired" => {
            return Err(KmsError::Tag(
                "Access keys cannot be set to Expired; use Active or Inactive.".to_owned(),
            )
            .into());
        }
        other => {
            return Err(KmsError::Validation(format!(
                "1 validation error detected: Value '{}' at 'status' failed to satisfy \
                 constraint: Member must satisfy enum value set: [Active, Inactive, Expired]",
                other.chars().take(64).collect::<String>()
            ))
            .into());
        }
    };
    c.svc
        .update_access_key(c.ctx, name.as_deref(), &id, status)
        .await?;
    ok_empty(&c, "UpdateAccessKey")
}

async fn delete_access_key(c: Call<'_>) -> Out {
    let name = opt_name(c.params, "UserName", "userName", 128)?;
    let id = access_key_id(c.params)?;
    c.svc.delete_access_key(c.ctx, name.as_deref(), &id).await?;
    ok_empty(&c, "DeleteAccessKey")
}

async fn list_access_keys(c: Call<'_>) -> Out {
    let name = opt_name(c.params, "UserName", "userName", 128)?;
    let marker = marker(c.params)?;
    let limit = max_items(c.params)?;
    let page = c
        .svc
        .list_access_keys(c.ctx, name.as_deref(), marker.as_deref(), limit)
        .await?;
    ok(&c, "ListAccessKeys", &|x| {
        x.open("AccessKeyMetadata");
        for k in &page.items {
            write_key_metadata(x, k);
        }
        x.close("AccessKeyMetadata");
        write_page_info(x, &page);
    })
}

fn write_key_metadata(x: &mut Xml, k: &AccessKeyInfo) {
    x.open("member");
    x.opt_elem("UserName", k.user_name.as_deref());
    x.elem("AccessKeyId", &k.access_key_id);
    x.elem("Status", k.status.as_str());
    x.time("CreateDate", k.created_at);
    x.close("member");
}

// -- inline policies -----------------------------------------------------------------------

async fn put_user_policy(c: Call<'_>) -> Out {
    let p = c.params;
    let user = req_name(p, "UserName", "userName", 128)?;
    let policy = req_name(p, "PolicyName", "policyName", 128)?;
    let doc = policy_document(p, "PolicyDocument", "policyDocument")?;
    c.svc.put_user_policy(c.ctx, &user, &policy, &doc).await?;
    ok_empty(&c, "PutUserPolicy")
}

async fn get_user_policy(c: Call<'_>) -> Out {
    let user = req_name(c.params, "UserName", "userName", 128)?;
    let policy = req_name(c.params, "PolicyName", "policyName", 128)?;
    let got = c.svc.get_user_policy(c.ctx, &user, &policy).await?;
    ok(&c, "GetUserPolicy", &|x| {
        write_inline_policy(x, "UserName", &got)
    })
}

async fn delete_user_policy(c: Call<'_>) -> Out {
    let user = req_name(c.params, "UserName", "userName", 128)?;
    let policy = req_name(c.params, "PolicyName", "policyName", 128)?;
    c.svc.delete_user_policy(c.ctx, &user, &policy).await?;
    ok_empty(&c, "DeleteUserPolicy")
}

async fn list_user_policies(c: Call<'_>) -> Out {
    let user = req_name(c.params, "UserName", "userName", 128)?;
    let marker = marker(c.params)?;
    let limit = max_items(c.params)?;
    let page = c
        .svc
        .list_user_policies(c.ctx, &user, marker.as_deref(), limit)
        .await?;
    ok(&c, "ListUserPolicies", &|x| write_policy_names(x, &page))
}

async fn put_role_policy(c: Call<'_>) -> Out {
    let p = c.params;
    let role = req_name(p, "RoleName", "roleName", 64)?;
    let policy = req_name(p, "PolicyName", "policyName", 128)?;
    let doc = policy_document(p, "PolicyDocument", "policyDocument")?;
    c.svc.put_role_policy(c.ctx, &role, &policy, &doc).await?;
    ok_empty(&c, "PutRolePolicy")
}

async fn get_role_policy(c: Call<'_>) -> Out {
    let role = req_name(c.params, "RoleName", "roleName", 64)?;
    let policy = req_name(c.params, "PolicyName", "policyName", 128)?;
    let got = c.svc.get_role_policy(c.ctx, &role, &policy).await?;
    ok(&c, "GetRolePolicy", &|x| {
        write_inline_policy(x, "RoleName", &got)
    })
}

async fn delete_role_policy(c: Call<'_>) -> Out {
    let role = req_name(c.params, "RoleName", "roleName", 64)?;
    let policy = req_name(c.params, "PolicyName", "policyName", 128)?;
    c.svc.delete_role_policy(c.ctx, &role, &policy).await?;
    ok_empty(&c, "DeleteRolePolicy")
}

async fn list_role_policies(c: Call<'_>) -> Out {
    let role = req_name(c.params, "RoleName", "roleName", 64)?;
    let marker = marker(c.params)?;
    let limit = max_items(c.params)?;
    let page = c
        .svc
        .list_role_policies(c.ctx, &role, marker.as_deref(), limit)
        .await?;
    ok(&c, "ListRolePolicies", &|x| write_policy_names(x, &page))
}

// -- roles ---------------------------------------------------------------------------------

async fn create_role(c: Call<'_>) -> Out {
    let p = c.params;
    let name = req_name(p, "RoleName", "roleName", 64)?;
    let path = path(p)?;
    let trust_policy = policy_document(p, "AssumeRolePolicyDocument", "assumeRolePolicyDocument")?;
    let description = p.string("Description");
    if let Some(d) = &description {
        str_len("description", d, 0, 1000)?;
        chars_match(
            "description",
            d,
            "[\\u0009\\u000A\\u000D\\u0020-\\u007E\\u00A1-\\u00FF]*",
            |c| matches!(c, '\t' | '\n' | '\r' | '\u{20}'..='\u{7E}' | '\u{A1}'..='\u{FF}'),
        )?;
    }
    let max_session_duration = match p.int("MaxSessionDuration", "maxSessionDuration")? {
        Some(n) => {
            int_range("maxSessionDuration", n, 3600, 43_200)?;
            Some(u32::try_from(n).unwrap_or(3600))
        }
        None => None,
    };
    let tags = tags(p, false)?;
    unsupported(p, &["PermissionsBoundary", "MaxSigninSessionDuration"])?;
    let role = c
        .svc
        .create_role(
            c.ctx,
            CreateRoleInput {
                name,
                path,
                trust_policy,
                description,
                max_session_duration,
                tags,
            },
        )
        .await?;
    ok(&c, "CreateRole", &|x| {
        x.open("Role");
        write_role(x, &role, true, false);
        x.close("Role");
    })
    .map(|a| a.with_elements(audit::role_elements(&role)))
}

async fn get_role(c: Call<'_>) -> Out {
    let name = req_name(c.params, "RoleName", "roleName", 64)?;
    let role = c.svc.get_role(c.ctx, &name).await?;
    ok(&c, "GetRole", &|x| {
        x.open("Role");
        write_role(x, &role, true, true);
        x.close("Role");
    })
}

async fn delete_role(c: Call<'_>) -> Out {
    let name = req_name(c.params, "RoleName", "roleName", 64)?;
    c.svc.delete_role(c.ctx, &name).await?;
    ok_empty(&c, "DeleteRole")
}

async fn list_roles(c: Call<'_>) -> Out {
    let prefix = path_prefix(c.params)?;
    let marker = marker(c.params)?;
    let limit = max_items(c.params)?;
    let page = c
        .svc
        .list_roles(c.ctx, prefix.as_deref(), marker.as_deref(), limit)
        .await?;
    ok(&c, "ListRoles", &|x| {
        x.open("Roles");
        for r in &page.items {
            x.open("member");
            write_role(x, r, false, false);
            x.close("member");
        }
        x.close("Roles");
        write_page_info(x, &page);
    })
}

// -- tags ----------------------------------------------------------------------------------

async fn tag_user(c: Call<'_>) -> Out {
    let user = req_name(c.params, "UserName", "userName", 128)?;
    let tags = tags(c.params, true)?;
    c.svc.tag_user(c.ctx, &user, &tags).await?;
    ok_empty(&c, "TagUser")
}

async fn untag_user(c: Call<'_>) -> Out {
    let user = req_name(c.params, "UserName", "userName", 128)?;
    let keys = tag_keys(c.params)?;
    c.svc.untag_user(c.ctx, &user, &keys).await?;
    ok_empty(&c, "UntagUser")
}

async fn list_user_tags(c: Call<'_>) -> Out {
    let user = req_name(c.params, "UserName", "userName", 128)?;
    let marker = marker(c.params)?;
    let limit = max_items(c.params)?;
    let page = c
        .svc
        .list_user_tags(c.ctx, &user, marker.as_deref(), limit)
        .await?;
    ok(&c, "ListUserTags", &|x| write_tag_page(x, &page))
}

async fn tag_role(c: Call<'_>) -> Out {
    let role = req_name(c.params, "RoleName", "roleName", 64)?;
    let tags = tags(c.params, true)?;
    c.svc.tag_role(c.ctx, &role, &tags).await?;
    ok_empty(&c, "TagRole")
}

async fn untag_role(c: Call<'_>) -> Out {
    let role = req_name(c.params, "RoleName", "roleName", 64)?;
    let keys = tag_keys(c.params)?;
    c.svc.untag_role(c.ctx, &role, &keys).await?;
    ok_empty(&c, "UntagRole")
}

async fn list_role_tags(c: Call<'_>) -> Out {
    let role = req_name(c.params, "RoleName", "roleName", 64)?;
    let marker = marker(c.params)?;
    let limit = max_items(c.params)?;
    let page = c
        .svc
        .list_role_tags(c.ctx, &role, marker.as_deref(), limit)
        .await?;
    ok(&c, "ListRoleTags", &|x| write_tag_page(x, &page))
}
