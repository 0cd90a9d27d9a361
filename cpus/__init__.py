"""The CPU catalog and the compatibility engine (pure core in cpus.cpuid)."""
