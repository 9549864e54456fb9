//! Workspace quota: a user's budget (the sum of `quota_allowance` over
//! their groups, Everyone included, in one organization; credits per day)
//! and what they spend (the `daily_cost` of the latest build of each of
//! their non-deleted workspaces), and CommitQuota's atomic check-and-write.

use uuid::Uuid;

use crate::db::{Conn, Store};
use crate::error::StoreResult;

/// `{credits_consumed, budget}` in credits per day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Quota {
    pub credits_consumed: i64,
    pub budget: i64,
}

/// The outcome of [`Store::commit_quota`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaCommit {
    /// The build may go on (its cost was written).
    pub ok: bool,
    /// Credits consumed: after the build when `ok`, before it otherwise.
    pub credits_consumed: i64,
    pub budget: i64,
}

async fn budget(c: &mut Conn<'_>, user_id: Uuid, organization_id: Uuid) -> StoreResult<i64> {
    let (b,): (i64,) = q_one!(
        c,
        (i64,),
        // The user's groups (their memberships, and Everyone, whose id is
        // the organization's, when they are a member of it), then each
        // group by primary key. `CROSS JOIN` keeps SQLite's join order, so
        // it does not walk every group of the organization instead.
        "SELECT CAST(COALESCE(SUM(g.quota_allowance), 0) AS BIGINT) FROM ( \
           SELECT gm.group_id AS id FROM group_members gm WHERE gm.user_id = $1 \
           UNION \
           SELECT om.organization_id FROM organization_members om \
           WHERE om.user_id = $1 AND om.organization_id = $2) m \
         CROSS JOIN groups g WHERE g.id = m.id AND g.organization_id = $2",
        user_id,
        organization_id
    )?;
    Ok(b)
}

/// Sum of the latest build's cost of each non-deleted workspace of the
/// user in the organization, leaving out `except_workspace`.
async fn consumed(
    c: &mut Conn<'_>,
    user_id: Uuid,
    organization_id: Uuid,
    except_workspace: Option<Uuid>,
) -> StoreResult<i64> {
    let (n,): (i64,) = q_one!(
        c,
        (i64,),
        "SELECT CAST(COALESCE(SUM(b.daily_cost), 0) AS BIGINT) FROM workspace_builds b \
         JOIN workspaces w ON w.id = b.workspace_id \
         WHERE w.owner_id = $1 AND w.organization_id = $2 AND w.deleted = FALSE \
           AND ($3 IS NULL OR w.id <> $3) \
           AND b.build_number = (SELECT MAX(b2.build_number) FROM workspace_builds b2 \
                                 WHERE b2.workspace_id = w.id)",
        user_id,
        organization_id,
        except_workspace
    )?;
    Ok(n)
}

#[derive(sqlx::FromRow)]
struct BuildOwner {
    id: Uuid,
    workspace_id: Uuid,
    build_number: i64,
    owner_id: Uuid,
    organization_id: Uuid,
}

impl Store {
    /// A user's quota in an organization.
    pub async fn workspace_quota(
        &self,
        user_id: Uuid,
        organization_id: Uuid,
    ) -> StoreResult<Quota> {
        let mut c = self.acquire().await?;
        let mut conn = c.conn();
        Ok(Quota {
            credits_consumed: consumed(&mut conn, user_id, organization_id, None).await?,
            budget: budget(&mut conn, user_id, organization_id).await?,
        })
    }

    /// CommitQuota for the build of `job_id` costing `daily_cost`: in one
    /// transaction serialized per workspace owner (SQLite's write lock; a
    /// row lock on the owner in PostgreSQL), the build is allowed when the
    /// owner's other workspaces plus this cost stay within the budget, or
    /// when the cost is not more than the workspace's previous build's (a
    /// build that does not raise the cost always passes). Allowed: the cost
    /// is written on the build. Refused: nothing is written.
    pub async fn commit_quota(&self, job_id: Uuid, daily_cost: i64) -> StoreResult<QuotaCommit> {
        let mut tx = self.begin().await?;
        let mut c = tx.conn();
        let b = q_one!(
            &mut c,
            BuildOwner,
            "SELECT b.id, b.workspace_id, CAST(b.build_number AS BIGINT) AS build_number, w.owner_id, w.organization_id \
             FROM workspace_builds b JOIN workspaces w ON w.id = b.workspace_id WHERE b.job_id = $1",
            job_id
        )?;
        if let Conn::Postgres(pg) = &mut c {
            sqlx::query("SELECT id FROM users WHERE id = $1 FOR UPDATE")
                .bind(b.owner_id)
                .execute(&mut **pg)
                .await?;
        }
        let previous: Option<(i64,)> = q_opt!(
            &mut c,
            (i64,),
            "SELECT CAST(daily_cost AS BIGINT) FROM workspace_builds WHERE workspace_id = $1 AND build_number < $2 \
             ORDER BY build_number DESC LIMIT 1",
            b.workspace_id,
            b.build_number
        )?;
        let previous = previous.map(|p| p.0).unwrap_or(0);
        let others = consumed(&mut c, b.owner_id, b.organization_id, Some(b.workspace_id)).await?;
        let budget = budget(&mut c, b.owner_id, b.organization_id).await?;
        let total = others + daily_cost;
        if total > budget && daily_cost > previous {
            return Ok(QuotaCommit {
                ok: false,
                credits_consumed: others,
                budget,
            });
        }
        q_exec!(
            &mut c,
            "UPDATE workspace_builds SET daily_cost = $2 WHERE id = $1",
            b.id,
            daily_cost
        )?;
        tx.commit().await?;
        Ok(QuotaCommit {
            ok: true,
            credits_consumed: total,
            budget,
        })
    }
}
