-- The replica whose daemon session holds a running job. A job's daemon
-- session lives in one `coderd server` process; when that process dies
-- (kill -9, a crash, a lost machine) nothing can finish the job, so the
-- reaper fails running jobs whose replica is gone instead of waiting for
-- the hung-job timeout.
ALTER TABLE provisioner_jobs ADD COLUMN worker_replica_id UUID;
