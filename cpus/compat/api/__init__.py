"""The compatibility REST endpoints: pair checks and pool baselines (``checks``), matrix runs
(``runs``), VM pre-flight (``preflight``) and pool plans (``plans``).  Routed by
``cpus.compat.urls.register_api`` on the site's one API router."""
