-- Placeholder on branch passkey only, so that 0010 applies here alone:
-- the shared plan gives 0009 to another branch of issue 10. Delete this
-- file when that branch's 0009 is merged.
SELECT 1;
