//! Store tests: the storage choices pinned on each backend, and writers
//! racing. PostgreSQL runs when `CODER_TEST_POSTGRES_URL` is set.

use std::sync::Arc;

use store::{Backend, Organization, Store, StoreError, StoreOptions, StringList, User, UserStatus};
use uuid::Uuid;

/// `CODER_TEST_POSTGRES_URL`, or `None` when it is unset or empty; panics
/// instead when `CODER_TEST_REQUIRE_POSTGRES` is set (CI sets it), so a
/// missing PostgreSQL fails the run rather than skipping half of it.
fn postgres_admin_url() -> Option<String> {
    let url = std::env::var("CODER_TEST_POSTGRES_URL")
        .ok()
        .filter(|s| !s.is_empty());
    if url.is_none() && std::env::var_os("CODER_TEST_REQUIRE_POSTGRES").is_some() {
        panic!("CODER_TEST_REQUIRE_POSTGRES is set but CODER_TEST_POSTGRES_URL is not");
    }
    url
}

struct Db {
    store: Store,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some((admin, name)) = self.pg.take() {
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap();
                rt.block_on(async move {
                    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
                    let _ =
                        sqlx::query(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                            .execute(&pool)
                            .await;
                });
            })
            .join();
        }
    }
}

async fn open(pg: bool) -> Option<Db> {
    let dir = tempfile::tempdir().unwrap();
    if !pg {
        let store = Store::open(
            Backend::Sqlite(dir.path().join("t.db")),
            StoreOptions::default(),
        )
        .await
        .unwrap();
        return Some(Db {
            store,
            _dir: dir,
            pg: None,
        });
    }
    let Some(admin) = postgres_admin_url() else {
        eprintln!("skipped: CODER_TEST_POSTGRES_URL is not set");
        return None;
    };
    let name = format!("s_{}", Uuid::new_v4().simple());
    let pool = sqlx::PgPool::connect(&admin).await.unwrap();
    sqlx::query(&format!("CREATE DATABASE \"{name}\""))
        .execute(&pool)
        .await
        .unwrap();
    let url = match admin.rsplit_once('/') {
        Some((base, _)) => format!("{base}/{name}"),
        None => unreachable!(),
    };
    let store = Store::open(Backend::Postgres(url.into()), StoreOptions::default())
        .await
        .unwrap();
    Some(Db {
        store,
        _dir: dir,
        pg: Some((admin, name)),
    })
}

fn org() -> Organization {
    let now = store::now();
    Organization {
        id: Uuid::new_v4(),
        name: "coder".into(),
        display_name: "coder".into(),
        description: String::new(),
        icon: String::new(),
        is_default: true,
        created_at: now,
        updated_at: now,
    }
}

fn user(name: &str) -> User {
    let now = store::now();
    User {
        id: Uuid::new_v4(),
        email: format!("{name}@example.com"),
        username: name.into(),
        name: String::new(),
        hashed_password: String::new(),
        created_at: now,
        updated_at: now,
        last_seen_at: now,
        status: UserStatus::Active,
        rbac_roles: StringList(vec!["owner".into()]),
        login_type: "password".into(),
        avatar_url: String::new(),
        deleted: false,
    }
}

/// SQLite keeps UUIDs as 16-byte blobs and timestamps as RFC 3339 UTC text.
#[tokio::test]
async fn sqlite_storage_is_pinned() {
    let db = open(false).await.unwrap();
    let (o, u) = (org(), user("alice"));
    db.store.create_first_user(&o, &u, &[]).await.unwrap();
    let pool = db.store.sqlite_pool().unwrap();
    let (ty, len, ts_ty, ts): (String, i64, String, String) =
        sqlx::query_as("SELECT typeof(id), length(id), typeof(created_at), created_at FROM users")
            .fetch_one(pool)
            .await
            .unwrap();
    assert_eq!((ty.as_str(), len), ("blob", 16));
    assert_eq!(ts_ty, "text");
    assert!(ts.ends_with("+00:00"), "{ts}");
    assert_eq!(
        ts.parse::<chrono::DateTime<chrono::Utc>>().unwrap(),
        u.created_at
    );
    let (mode,): (String,) = sqlx::query_as("PRAGMA journal_mode")
        .fetch_one(pool)
        .await
        .unwrap();
    assert_eq!(mode, "wal");
}

/// PostgreSQL uses its native types.
#[tokio::test]
async fn postgres_storage_is_pinned() {
    let Some(db) = open(true).await else { return };
    let pool = db.store.postgres_pool().unwrap();
    let rows: Vec<(String, String)> = sqlx::query_as(
        "SELECT column_name::text, data_type::text FROM information_schema.columns \
         WHERE table_name = 'users' AND column_name IN ('id', 'created_at') ORDER BY column_name",
    )
    .fetch_all(pool)
    .await
    .unwrap();
    assert_eq!(
        rows,
        vec![
            (
                "created_at".to_string(),
                "timestamp with time zone".to_string()
            ),
            ("id".to_string(), "uuid".to_string())
        ]
    );
}

async fn round_trip(pg: bool) {
    let Some(db) = open(pg).await else { return };
    let (o, u) = (org(), user("Alice"));
    db.store
        .create_first_user(&o, &u, &["organization-admin".into()])
        .await
        .unwrap();
    let back = db.store.get_user_by_id(u.id).await.unwrap();
    assert_eq!(back, u, "a user reads back exactly as written");
    assert_eq!(
        db.store.get_user_by_username("alice").await.unwrap().id,
        u.id
    );
    assert_eq!(
        db.store
            .get_user_by_email("ALICE@example.com")
            .await
            .unwrap()
            .id,
        u.id
    );
    assert_eq!(db.store.get_organization_by_id(o.id).await.unwrap(), o);
    let m = db.store.get_organization_member(o.id, u.id).await.unwrap();
    assert_eq!(m.roles.0, vec!["organization-admin".to_string()]);
    assert!(matches!(
        db.store.get_user_by_id(Uuid::new_v4()).await,
        Err(StoreError::NotFound)
    ));
    // A second user with the same username (any case) is a conflict on the named index.
    let mut dup = user("ALICE");
    dup.email = "other@example.com".into();
    let err = db.store.insert_user(&dup, o.id).await.unwrap_err();
    assert!(err.is_conflict(store::Constraint::UserUsername), "{err:?}");
    // ...and nothing of it was written (the membership insert was rolled back too).
    let (_, count) = db.store.list_users(&Default::default()).await.unwrap();
    assert_eq!(count, 1);
}

#[tokio::test]
async fn rows_round_trip_sqlite() {
    round_trip(false).await;
}

#[tokio::test]
async fn rows_round_trip_postgres() {
    round_trip(true).await;
}

async fn racing_first_users(pg: bool) {
    let Some(db) = open(pg).await else { return };
    let store = Arc::new(db.store.clone());
    let mut handles = Vec::new();
    for i in 0..8 {
        let s = store.clone();
        handles.push(tokio::spawn(async move {
            let mut o = org();
            o.name = format!("org{i}");
            s.create_first_user(&o, &user(&format!("u{i}")), &[]).await
        }));
    }
    let mut ok = 0;
    for h in handles {
        match h.await.unwrap() {
            Ok(()) => ok += 1,
            Err(StoreError::Conflict(store::Constraint::FirstUser)) => {}
            Err(e) => panic!("unexpected error: {e:?}"),
        }
    }
    assert_eq!(ok, 1, "exactly one first user wins the race");
    let (_, count) = db.store.list_users(&Default::default()).await.unwrap();
    assert_eq!(count, 1);
    assert_eq!(db.store.list_organizations().await.unwrap().len(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_user_race_sqlite() {
    racing_first_users(false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn first_user_race_postgres() {
    racing_first_users(true).await;
}

/// The dormancy cut-off compares `last_seen_at` exactly on both backends
/// (on SQLite as RFC 3339 text, whose fraction has 0, 3, 6 or 9 digits),
/// touches only active users, and migration 0008 refuses unknown statuses.
async fn dormancy_cutoff(pg: bool) {
    let Some(db) = open(pg).await else { return };
    let o = org();
    db.store
        .create_first_user(&o, &user("owner"), &[])
        .await
        .unwrap();
    let t0: chrono::DateTime<chrono::Utc> = "2020-01-01T00:00:00Z".parse().unwrap();
    let at = |us: i64| t0 + chrono::Duration::microseconds(us);
    let mut ids = Vec::new();
    for (name, seen, status) in [
        ("whole", at(0), UserStatus::Active),
        ("micro", at(499), UserStatus::Active),
        ("cutoff", at(500), UserStatus::Active),
        ("milli", at(1000), UserStatus::Active),
        ("susp", at(0), UserStatus::Suspended),
        ("dorm", at(0), UserStatus::Dormant),
    ] {
        let mut u = user(name);
        u.last_seen_at = seen;
        u.status = status;
        db.store.insert_user(&u, o.id).await.unwrap();
        ids.push(u.id);
    }
    let mut changed = db
        .store
        .mark_inactive_users_dormant(at(500), store::now())
        .await
        .unwrap();
    changed.sort();
    let mut want = vec![ids[0], ids[1]];
    want.sort();
    assert_eq!(changed, want, "strictly before the cut-off, active only");
    let status = |i: usize| {
        let s = &db.store;
        let id = ids[i];
        async move { s.get_user_by_id(id).await.unwrap().status }
    };
    assert_eq!(status(0).await, UserStatus::Dormant);
    assert_eq!(status(2).await, UserStatus::Active);
    assert_eq!(status(3).await, UserStatus::Active);
    assert_eq!(status(4).await, UserStatus::Suspended);
    assert!(db.store.activate_dormant_user(ids[0]).await.unwrap());
    assert!(!db.store.activate_dormant_user(ids[4]).await.unwrap());
    assert_eq!(status(0).await, UserStatus::Active);
    assert_eq!(status(4).await, UserStatus::Suspended);
    // Only the three statuses can be stored.
    let sql = "UPDATE users SET status = 'sleepy'";
    let err = match (db.store.sqlite_pool(), db.store.postgres_pool()) {
        (Some(p), _) => sqlx::query(sql).execute(p).await.unwrap_err(),
        (_, Some(p)) => sqlx::query(sql).execute(p).await.unwrap_err(),
        _ => unreachable!(),
    };
    assert!(err.to_string().contains("users_status_check"), "{err}");
}

#[tokio::test]
async fn dormancy_cutoff_sqlite() {
    dormancy_cutoff(false).await;
}

#[tokio::test]
async fn dormancy_cutoff_postgres() {
    dormancy_cutoff(true).await;
}
