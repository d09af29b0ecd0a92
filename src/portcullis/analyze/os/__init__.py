"""OS package analyzers (dpkg, apk, rpm); the distro itself is analyze/os_release.py, which
every scan runs."""

# Discovery imports this package only for a scan that asks for these (analyze/discovery.py).
SERVES = frozenset({"packages"})
