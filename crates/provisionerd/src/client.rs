//! [`ProvisionerClient`]: how a daemon talks to the server, whichever way
//! it is connected (in-process calls, or frames over the websocket).

use async_trait::async_trait;

use crate::proto::*;

/// What a call to the server can fail with.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// The connection is gone (or the server is shutting down): reconnect.
    #[error("connection to the server lost: {0}")]
    Disconnected(String),
    /// The server answered the call with an error (e.g. `you don't own this
    /// job`); the connection is fine.
    #[error("{0}")]
    Refused(String),
}

/// The server side of upstream's `provisionerd.ProvisionerDaemon` service.
#[async_trait]
pub trait ProvisionerClient: Send + Sync {
    /// Hands this daemon the next job it may run; an empty `job_id` when
    /// there is none (the server may wait a while for one first).
    async fn acquire_job(&self) -> Result<AcquiredJob, ClientError>;
    /// Heartbeat plus new logs; answers whether the job was canceled.
    async fn update_job(&self, req: UpdateJobRequest) -> Result<UpdateJobResponse, ClientError>;
    /// The job failed with `error`.
    async fn fail_job(&self, req: FailedJob) -> Result<(), ClientError>;
    /// The job succeeded.
    async fn complete_job(&self, req: CompletedJob) -> Result<(), ClientError>;
    /// Charges a planned build's daily cost against the owner's quota.
    async fn commit_quota(
        &self,
        req: CommitQuotaRequest,
    ) -> Result<CommitQuotaResponse, ClientError>;
}
