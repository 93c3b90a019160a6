-- Placeholder for the acct branch's migration 0010, so that this branch's
-- 0011 and 0012 apply (migrations must be numbered without gaps). The lead
-- drops this file when merging, before renumbering.
SELECT 1;
