//! The monitoring endpoints through the server's router, over a real service and SQLite
//! store: requests of every API and outcome are sent, then `/metrics` is scraped and its
//! series compared exactly; `/readyz` over a store that fails or hangs on demand.

use super::*;
use crate::http::{MAX_BODY, router};
use axum::Router;
use axum::body::Body;
use std::collections::BTreeMap;
use std::sync::atomic::AtomicU8;
use strongroom_api_aws::{ApiConfig, AwsApi};
use strongroom_core::alias::Alias;
use strongroom_core::grant::Grant;
use strongroom_core::identity::{AccessKey, Account, Role, User};
use strongroom_core::ids::{AccountId, AliasName, KeyId, Region};
use strongroom_core::key::{Key, KeyVersion};
use strongroom_core::state::KeyState;
use strongroom_core::time::{Clock as _, SystemClock, Timestamp};
use strongroom_crypto::random::SystemRandom;
use strongroom_crypto::seal::{DevFileSeal, Seal};
use strongroom_crypto::secret::SecretBytes;
use strongroom_service::Config;
use strongroom_store::sqlite::SqliteStore;
use strongroom_store::{KeyUsage, Store, StoreError, Transaction, Versioned};
use tower::ServiceExt as _;

const AKID: &str = "AKIAMONITORTESTMON00";
const SECRET: &str = "monitor-test-secret-monitor-test-secret0";

// -- a store that fails or hangs on demand ---------------------------------------------------

const ANSWER: u8 = 0;
const FAIL: u8 = 1;
const HANG: u8 = 2;
/// How long a hanging read takes.
const HANG_FOR: Duration = Duration::from_millis(600);

/// SQLite, except that key reads and the key count fail or hang while told to.
#[derive(Debug)]
struct Faulty {
    inner: SqliteStore,
    mode: AtomicU8,
}

impl Faulty {
    fn set(&self, mode: u8) {
        self.mode.store(mode, Ordering::SeqCst);
    }

    fn fault(&self) -> Result<(), StoreError> {
        match self.mode.load(Ordering::SeqCst) {
            FAIL => Err(StoreError::Unavailable("injected failure".into())),
            HANG => {
                std::thread::sleep(HANG_FOR);
                Ok(())
            }
            _ => Ok(()),
        }
    }
}

impl Store for Faulty {
    fn get_key(&self, id: &KeyId) -> Result<Option<Versioned<Key>>, StoreError> {
        self.fault()?;
        self.inner.get_key(id)
    }
    fn count_keys_by_state(&self) -> Result<Vec<(KeyState, u64)>, StoreError> {
        self.fault()?;
        self.inner.count_keys_by_state()
    }
    fn list_keys(
        &self,
        account: &AccountId,
        region: &Region,
        after: Option<&KeyId>,
        limit: usize,
    ) -> Result<Vec<Key>, StoreError> {
        self.inner.list_keys(account, region, after, limit)
    }
    fn get_key_version(&self, id: &KeyId, version: u32) -> Result<Option<KeyVersion>, StoreError> {
        self.inner.get_key_version(id, version)
    }
    fn list_key_versions(&self, id: &KeyId) -> Result<Vec<KeyVersion>, StoreError> {
        self.inner.list_key_versions(id)
    }
    fn get_alias(
        &self,
        account: &AccountId,
        region: &Region,
        name: &AliasName,
    ) -> Result<Option<Versioned<Alias>>, StoreError> {
        self.inner.get_alias(account, region, name)
    }
    fn list_aliases(
        &self,
        account: &AccountId,
        region: &Region,
        target: Option<&KeyId>,
        after: Option<&AliasName>,
        limit: usize,
    ) -> Result<Vec<Alias>, StoreError> {
        self.inner
            .list_aliases(account, region, target, after, limit)
    }
    fn list_keys_due_for_rotation(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<KeyId>, StoreError> {
        self.inner.list_keys_due_for_rotation(now, limit)
    }
    fn list_keys_due_for_deletion(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<KeyId>, StoreError> {
        self.inner.list_keys_due_for_deletion(now, limit)
    }
    fn list_keys_due_for_expiry(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<KeyId>, StoreError> {
        self.inner.list_keys_due_for_expiry(now, limit)
    }
    fn try_lease(
        &self,
        name: &str,
        holder: &str,
        now: Timestamp,
        until: Timestamp,
    ) -> Result<bool, StoreError> {
        self.inner.try_lease(name, holder, now, until)
    }
    fn get_key_usage(&self, id: &KeyId) -> Result<Option<KeyUsage>, StoreError> {
        self.inner.get_key_usage(id)
    }
    fn get_account(&self, id: &AccountId) -> Result<Option<Account>, StoreError> {
        self.inner.get_account(id)
    }
    fn get_access_key(&self, id: &str) -> Result<Option<Versioned<AccessKey>>, StoreError> {
        self.inner.get_access_key(id)
    }
    fn list_access_keys(
        &self,
        account: &AccountId,
        user: Option<&str>,
    ) -> Result<Vec<Versioned<AccessKey>>, StoreError> {
        self.inner.list_access_keys(account, user)
    }
    fn list_expired_sessions(
        &self,
        now: Timestamp,
        limit: usize,
    ) -> Result<Vec<String>, StoreError> {
        self.inner.list_expired_sessions(now, limit)
    }
    fn get_user(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<Versioned<User>>, StoreError> {
        self.inner.get_user(account, name)
    }
    fn list_users(
        &self,
        account: &AccountId,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<User>, StoreError> {
        self.inner.list_users(account, path_prefix, after, limit)
    }
    fn get_role(
        &self,
        account: &AccountId,
        name: &str,
    ) -> Result<Option<Versioned<Role>>, StoreError> {
        self.inner.get_role(account, name)
    }
    fn list_roles(
        &self,
        account: &AccountId,
        path_prefix: &str,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Role>, StoreError> {
        self.inner.list_roles(account, path_prefix, after, limit)
    }
    fn get_grant(&self, key_id: &KeyId, grant_id: &str) -> Result<Option<Grant>, StoreError> {
        self.inner.get_grant(key_id, grant_id)
    }
    fn list_grants(
        &self,
        key_id: &KeyId,
        after: Option<&str>,
        limit: usize,
    ) -> Result<Vec<Grant>, StoreError> {
        self.inner.list_grants(key_id, after, limit)
    }
    fn count_grants(&self, key_id: &KeyId) -> Result<usize, StoreError> {
        self.inner.count_grants(key_id)
    }
    fn list_retirable_grants(
        &self,
        principal: &str,
        after: Option<(&KeyId, &str)>,
        limit: usize,
    ) -> Result<Vec<Grant>, StoreError> {
        self.inner.list_retirable_grants(principal, after, limit)
    }
    fn commit(&self, txn: Transaction) -> Result<(), StoreError> {
        self.inner.commit(txn)
    }
}

// -- a server behind its router --------------------------------------------------------------

struct Server {
    router: Router,
    store: Arc<Faulty>,
    monitor: Monitor,
    _dir: tempfile::TempDir,
}

async fn server(probe_timeout: Duration) -> Server {
    let dir = tempfile::tempdir().unwrap();
    let root = DevFileSeal::new(dir.path().join("root.key"))
        .unseal(&SystemRandom)
        .unwrap();
    let store = Arc::new(Faulty {
        inner: SqliteStore::open(&dir.path().join("s.db")).unwrap(),
        mode: AtomicU8::new(ANSWER),
    });
    let (metrics, prometheus) = prometheus().unwrap();
    let svc = Service::with_metrics(
        Arc::clone(&store) as Arc<dyn Store>,
        root,
        Arc::new(SystemRandom),
        Arc::new(SystemClock),
        Config::default(),
        metrics,
    );
    let account = AccountId::parse("111122223333").unwrap();
    let requested = Some((
        AKID.to_owned(),
        SecretBytes::new(SECRET.as_bytes().to_vec()),
    ));
    svc.bootstrap_dev(&account, requested, None).await.unwrap();
    let api = AwsApi::new(
        svc.clone(),
        ApiConfig {
            regions: Vec::new(),
            auth_clock: Arc::new(SystemClock),
        },
    );
    let monitor = Monitor::with_timeout(svc, prometheus, probe_timeout);
    Server {
        router: router(api, None, monitor.clone()),
        store,
        monitor,
        _dir: dir,
    }
}

#[derive(Clone, Copy)]
struct Creds<'a> {
    akid: &'a str,
    secret: &'a str,
}

const ROOT: Creds<'static> = Creds {
    akid: AKID,
    secret: SECRET,
};

/// What to send: a KMS target or a Query form, signed for `service` (or not at all).
struct Call<'a> {
    service: &'a str,
    target: Option<&'a str>,
    body: Vec<u8>,
    creds: Option<Creds<'a>>,
}

fn kms<'a>(target: &'a str, body: &str, creds: Creds<'a>) -> Call<'a> {
    Call {
        service: "kms",
        target: Some(target),
        body: body.as_bytes().to_vec(),
        creds: Some(creds),
    }
}

fn query<'a>(service: &'a str, form: &str, creds: Creds<'a>) -> Call<'a> {
    Call {
        service,
        target: None,
        body: form.as_bytes().to_vec(),
        creds: Some(creds),
    }
}

async fn send(s: &Server, c: Call<'_>) -> (u16, String) {
    let content_type = if c.target.is_some() {
        "application/x-amz-json-1.1"
    } else {
        "application/x-www-form-urlencoded; charset=utf-8"
    };
    let host = format!("{}.us-east-1.amazonaws.com", c.service);
    let mut headers: Vec<(String, String)> = vec![
        ("host".into(), host),
        ("content-type".into(), content_type.into()),
    ];
    if let Some(t) = c.target {
        headers.push(("x-amz-target".into(), t.into()));
    }
    if let Some(creds) = c.creds {
        let view: Vec<(&str, &[u8])> = headers
            .iter()
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        let req = strongroom_sigv4::Request {
            method: "POST",
            path: "/",
            query: "",
            headers: &view,
            body: &c.body,
        };
        let now = SystemClock.now().unix_seconds();
        let signed = strongroom_sigv4::sign(
            &req,
            creds.akid,
            creds.secret.as_bytes(),
            "us-east-1",
            c.service,
            now,
        )
        .unwrap();
        headers.push(("x-amz-date".into(), signed.amz_date));
        headers.push(("authorization".into(), signed.authorization));
    }
    let mut req = axum::http::Request::builder().method("POST").uri("/");
    for (n, v) in &headers {
        req = req.header(n, v);
    }
    let resp = s
        .router
        .clone()
        .oneshot(req.body(Body::from(c.body)).unwrap())
        .await
        .unwrap();
    read(resp).await
}

async fn get(s: &Server, path: &str) -> (u16, String) {
    let req = axum::http::Request::builder()
        .uri(path)
        .body(Body::empty())
        .unwrap();
    read(s.router.clone().oneshot(req).await.unwrap()).await
}

async fn read(resp: Response) -> (u16, String) {
    let status = resp.status().as_u16();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, String::from_utf8(body.to_vec()).unwrap())
}

fn json(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap()
}

/// The text of the first `<name>…</name>` element in `xml`.
fn xml_text<'a>(xml: &'a str, name: &str) -> &'a str {
    let open = format!("<{name}>");
    let start = xml.find(&open).unwrap() + open.len();
    let len = xml[start..].find('<').unwrap();
    &xml[start..start + len]
}

// -- reading the exposition format -----------------------------------------------------------

/// The samples of metric `name` (exactly that name) in a scrape: labels (sorted, as
/// `k="v"` joined by commas) → value.
fn series(scrape: &str, name: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    for line in scrape
        .lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
    {
        let (head, value) = line.rsplit_once(' ').unwrap();
        let (metric, labels) = match head.split_once('{') {
            Some((m, rest)) => (m, rest.strip_suffix('}').unwrap()),
            None => (head, ""),
        };
        if metric != name {
            continue;
        }
        let mut pairs: Vec<&str> = if labels.is_empty() {
            Vec::new()
        } else {
            labels.split(',').collect()
        };
        pairs.sort_unstable();
        let value: f64 = value.parse().unwrap();
        assert!(out.insert(pairs.join(","), value).is_none(), "{line} twice");
    }
    out
}

fn labels(pairs: &[(&str, &str)]) -> String {
    let mut l: Vec<String> = pairs.iter().map(|(k, v)| format!("{k}=\"{v}\"")).collect();
    l.sort_unstable();
    l.join(",")
}

fn request(api: &str, op: &str, outcome: &str) -> String {
    labels(&[("api", api), ("operation", op), ("outcome", outcome)])
}

async fn scrape(s: &Server) -> String {
    let (status, text) = get(s, "/metrics").await;
    assert_eq!(status, 200, "{text}");
    text
}

// -- the tests -------------------------------------------------------------------------------

#[tokio::test]
async fn metrics_count_every_request_by_api_operation_and_outcome() {
    let s = server(STORE_PROBE_TIMEOUT).await;
    let mut keys = Vec::new();
    for _ in 0..3 {
        let (status, body) = send(&s, kms("TrentService.CreateKey", "{}", ROOT)).await;
        assert_eq!(status, 200, "{body}");
        keys.push(
            json(&body)["KeyMetadata"]["KeyId"]
                .as_str()
                .unwrap()
                .to_owned(),
        );
    }
    let encrypt = format!(r#"{{"KeyId":"{}","Plaintext":"aGVsbG8="}}"#, keys[0]);
    for _ in 0..2 {
        let (status, body) = send(&s, kms("TrentService.Encrypt", &encrypt, ROOT)).await;
        assert_eq!(status, 200, "{body}");
    }
    let missing = r#"{"KeyId":"00000000-0000-4000-8000-000000000000","Plaintext":"aGk="}"#;
    let (status, body) = send(&s, kms("TrentService.Encrypt", missing, ROOT)).await;
    assert_eq!(
        (status, json(&body)["__type"].as_str()),
        (400, Some("NotFoundException"))
    );
    let disable = format!(r#"{{"KeyId":"{}"}}"#, keys[1]);
    assert_eq!(
        send(&s, kms("TrentService.DisableKey", &disable, ROOT))
            .await
            .0,
        200
    );
    let delete = format!(r#"{{"KeyId":"{}","PendingWindowInDays":7}}"#, keys[2]);
    let (status, body) = send(&s, kms("TrentService.ScheduleKeyDeletion", &delete, ROOT)).await;
    assert_eq!(status, 200, "{body}");
    // Authentication failures count under the operation the target names, if any.
    let unsigned = Call {
        creds: None,
        ..kms("TrentService.ListKeys", "{}", ROOT)
    };
    let (status, body) = send(&s, unsigned).await;
    assert_eq!(
        (status, json(&body)["__type"].as_str()),
        (400, Some("MissingAuthenticationTokenException"))
    );
    let (status, _) = send(&s, kms("TrentService.Nope", "{}", ROOT)).await;
    assert_eq!(status, 400);
    // Refused by the listener before the front end: a body over the limit.
    let too_large = Call {
        body: vec![b' '; MAX_BODY + 1],
        ..kms("TrentService.Encrypt", "", ROOT)
    };
    assert_eq!(send(&s, too_large).await.0, 413);

    // IAM and STS; a user without policies is denied.
    let form = "Action=CreateUser&Version=2010-05-08&UserName=alice";
    let (status, body) = send(&s, query("iam", form, ROOT)).await;
    assert_eq!(status, 200, "{body}");
    let form = "Action=CreateAccessKey&Version=2010-05-08&UserName=alice";
    let (status, body) = send(&s, query("iam", form, ROOT)).await;
    assert_eq!(status, 200, "{body}");
    let alice = Creds {
        akid: xml_text(&body, "AccessKeyId"),
        secret: xml_text(&body, "SecretAccessKey"),
    };
    let (status, body) = send(&s, query("iam", "Action=Nope&Version=2010-05-08", ROOT)).await;
    assert_eq!(status, 400, "{body}");
    let wrong = Creds {
        secret: "wrong",
        ..ROOT
    };
    let (status, body) = send(&s, query("iam", "Action=ListUsers", wrong)).await;
    assert_eq!(status, 403, "{body}");
    let form = "Action=GetCallerIdentity&Version=2011-06-15";
    let (status, body) = send(&s, query("sts", form, ROOT)).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = send(&s, kms("TrentService.ListKeys", "{}", alice)).await;
    assert_eq!(
        (status, json(&body)["__type"].as_str()),
        (400, Some("AccessDeniedException"))
    );
    let form = "Action=ListUsers&Version=2010-05-08";
    let (status, body) = send(&s, query("iam", form, alice)).await;
    assert_eq!(status, 403, "{body}");
    assert!(body.contains("<Code>AccessDenied</Code>"), "{body}");

    let text = scrape(&s).await;
    let want: BTreeMap<String, f64> = [
        (request("kms", "CreateKey", "success"), 3.0),
        (request("kms", "Encrypt", "success"), 2.0),
        (request("kms", "Encrypt", "client_error"), 2.0),
        (request("kms", "DisableKey", "success"), 1.0),
        (request("kms", "ScheduleKeyDeletion", "success"), 1.0),
        (request("kms", "ListKeys", "client_error"), 1.0),
        (request("kms", "ListKeys", "denied"), 1.0),
        (request("kms", "unknown", "client_error"), 1.0),
        (request("iam", "CreateUser", "success"), 1.0),
        (request("iam", "CreateAccessKey", "success"), 1.0),
        (request("iam", "unknown", "client_error"), 2.0),
        (request("iam", "ListUsers", "denied"), 1.0),
        (request("sts", "GetCallerIdentity", "success"), 1.0),
    ]
    .into_iter()
    .collect();
    assert_eq!(series(&text, "strongroom_requests_total"), want, "{text}");

    // One histogram per API and operation, counting every outcome, with the fixed buckets.
    let counts = series(&text, "strongroom_request_duration_seconds_count");
    let mut want_counts: BTreeMap<String, f64> = BTreeMap::new();
    for (l, n) in &want {
        let op: Vec<&str> = l
            .split(',')
            .filter(|p| !p.starts_with("outcome="))
            .collect();
        *want_counts.entry(op.join(",")).or_default() += n;
    }
    assert_eq!(counts, want_counts, "{text}");
    let buckets = series(&text, "strongroom_request_duration_seconds_bucket");
    let encrypt_buckets: Vec<(&String, &f64)> = buckets
        .iter()
        .filter(|(l, _)| l.contains("operation=\"Encrypt\""))
        .collect();
    assert_eq!(encrypt_buckets.len(), DURATION_BUCKETS.len() + 1, "{text}");
    let inf = labels(&[("api", "kms"), ("le", "+Inf"), ("operation", "Encrypt")]);
    assert_eq!(buckets.get(&inf), Some(&4.0), "{text}");
    let le_5s = labels(&[("api", "kms"), ("le", "5"), ("operation", "Encrypt")]);
    assert_eq!(buckets.get(&le_5s), Some(&4.0), "{text}");
    assert!(text.contains("# TYPE strongroom_request_duration_seconds histogram"));
    assert!(text.contains("# TYPE strongroom_requests_total counter"));

    // The key gauges: every state, counted when scraped.
    let mut want_keys: BTreeMap<String, f64> = KeyState::ALL
        .iter()
        .map(|s| (labels(&[("state", s.as_str())]), 0.0))
        .collect();
    for state in ["Enabled", "Disabled", "PendingDeletion"] {
        want_keys.insert(labels(&[("state", state)]), 1.0);
    }
    assert_eq!(series(&text, "strongroom_keys"), want_keys, "{text}");
    assert!(text.contains("# TYPE strongroom_keys gauge"));

    // The audit trail's metrics appear once it records them.
    assert!(!text.contains("strongroom_audit"), "{text}");
    let audit = s.monitor.inner.service.metrics().audit();
    audit.set_queue_depth(3);
    audit.set_direct_io(true);
    audit.observe_fsync(Duration::from_micros(700));
    let text = scrape(&s).await;
    assert_eq!(
        series(&text, "strongroom_audit_queue_depth"),
        BTreeMap::from([(String::new(), 3.0)])
    );
    assert_eq!(
        series(&text, "strongroom_audit_direct_io"),
        BTreeMap::from([(String::new(), 1.0)])
    );
    let fsync = series(&text, "strongroom_audit_fsync_seconds_bucket");
    assert_eq!(fsync.get("le=\"0.0005\""), Some(&0.0), "{text}");
    assert_eq!(fsync.get("le=\"0.001\""), Some(&1.0), "{text}");
}

#[tokio::test]
async fn cache_lookups_count_hits_and_misses() {
    let s = server(STORE_PROBE_TIMEOUT).await;
    let (_, body) = send(&s, kms("TrentService.CreateKey", "{}", ROOT)).await;
    let key = json(&body)["KeyMetadata"]["KeyId"]
        .as_str()
        .unwrap()
        .to_owned();
    let encrypt = format!(r#"{{"KeyId":"{key}","Plaintext":"aGVsbG8="}}"#);
    assert_eq!(
        send(&s, kms("TrentService.Encrypt", &encrypt, ROOT))
            .await
            .0,
        200
    );
    let lookups = |text: &str| series(text, "strongroom_cache_lookups_total");
    let before = lookups(&scrape(&s).await);
    // Every cache is listed from the start, hits and misses.
    assert_eq!(before.len(), 8, "{before:?}");

    // A warm Encrypt by key id: one credential and one key lookup, both hits.
    assert_eq!(
        send(&s, kms("TrentService.Encrypt", &encrypt, ROOT))
            .await
            .0,
        200
    );
    let after = lookups(&scrape(&s).await);
    let delta: BTreeMap<&String, f64> = after
        .iter()
        .map(|(l, n)| (l, n - before.get(l).copied().unwrap_or(0.0)))
        .filter(|(_, d)| *d != 0.0)
        .collect();
    let hit = |cache| labels(&[("cache", cache), ("result", "hit")]);
    let (credentials, keys) = (hit("credentials"), hit("keys"));
    assert_eq!(
        delta,
        BTreeMap::from([(&credentials, 1.0), (&keys, 1.0)]),
        "{after:?}"
    );

    // An alias: one miss that loads it, then hits.
    let alias = format!(r#"{{"AliasName":"alias/monitor","TargetKeyId":"{key}"}}"#);
    assert_eq!(
        send(&s, kms("TrentService.CreateAlias", &alias, ROOT))
            .await
            .0,
        200
    );
    let by_alias = r#"{"KeyId":"alias/monitor","Plaintext":"aGVsbG8="}"#;
    let before = lookups(&scrape(&s).await);
    for _ in 0..3 {
        assert_eq!(
            send(&s, kms("TrentService.Encrypt", by_alias, ROOT))
                .await
                .0,
            200
        );
    }
    let after = lookups(&scrape(&s).await);
    let aliases = |result| {
        let l = labels(&[("cache", "aliases"), ("result", result)]);
        after[&l] - before[&l]
    };
    assert_eq!((aliases("hit"), aliases("miss")), (2.0, 1.0));
}

#[tokio::test]
async fn readyz_answers_503_while_the_store_fails_hangs_or_the_server_drains() {
    let s = server(Duration::from_millis(100)).await;
    assert_eq!(get(&s, "/readyz").await, (200, "ready\n".to_owned()));
    assert_eq!(get(&s, "/healthz").await, (200, "ok\n".to_owned()));

    s.store.set(FAIL);
    assert_eq!(
        get(&s, "/readyz").await,
        (
            503,
            "not ready: the store failed to answer a read\n".to_owned()
        )
    );
    // Liveness does not depend on the store.
    assert_eq!(get(&s, "/healthz").await, (200, "ok\n".to_owned()));

    s.store.set(HANG);
    assert_eq!(
        get(&s, "/readyz").await,
        (
            503,
            "not ready: the store did not answer within 100 ms\n".to_owned()
        )
    );
    // The first read is still blocked: the next probe does not pile another one on.
    assert_eq!(
        get(&s, "/readyz").await,
        (
            503,
            "not ready: the previous store check has not returned yet\n".to_owned()
        )
    );
    s.store.set(ANSWER);
    tokio::time::sleep(HANG_FOR + Duration::from_millis(200)).await;
    assert_eq!(get(&s, "/readyz").await, (200, "ready\n".to_owned()));

    s.monitor.set_shutting_down();
    assert_eq!(
        get(&s, "/readyz").await,
        (503, "not ready: shutting down\n".to_owned())
    );
    assert_eq!(get(&s, "/healthz").await, (200, "ok\n".to_owned()));
}

#[tokio::test]
async fn metrics_are_served_when_the_store_cannot_count_keys() {
    let s = server(Duration::from_millis(100)).await;
    let (_, body) = send(&s, kms("TrentService.CreateKey", "{}", ROOT)).await;
    assert!(body.contains("KeyMetadata"), "{body}");
    s.store.set(FAIL);
    let text = scrape(&s).await;
    // No count has succeeded yet: no key gauges rather than zeros.
    assert!(series(&text, "strongroom_keys").is_empty(), "{text}");
    assert_eq!(
        series(&text, "strongroom_requests_total").get(&request("kms", "CreateKey", "success")),
        Some(&1.0)
    );
    s.store.set(ANSWER);
    let text = scrape(&s).await;
    let enabled = labels(&[("state", "Enabled")]);
    assert_eq!(series(&text, "strongroom_keys").get(&enabled), Some(&1.0));
    // Later failures keep the last values.
    s.store.set(FAIL);
    let text = scrape(&s).await;
    assert_eq!(series(&text, "strongroom_keys").get(&enabled), Some(&1.0));
    let (_, content_type) = {
        let req = axum::http::Request::builder()
            .uri("/metrics")
            .body(Body::empty())
            .unwrap();
        let resp = s.router.clone().oneshot(req).await.unwrap();
        let ct = resp.headers()["content-type"].to_str().unwrap().to_owned();
        (read(resp).await, ct)
    };
    assert_eq!(content_type, "text/plain; version=0.0.4; charset=utf-8");
}
