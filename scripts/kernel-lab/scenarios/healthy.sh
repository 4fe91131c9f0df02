# healthy: nothing broken. Two entry points (an execute-api name and a
# custom domain, both the same gateway) so that `edge` is tested too.
SUMMARY="three backends behind a pooled gateway and a conntrack router, nothing broken"
CAUSE=healthy
HOSTS="abc123.execute-api.klab.test api.klab.test"
PLAN="--quick"
